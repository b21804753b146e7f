package bench

import (
	"context"
	"database/sql"
	"math"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/bench/benchdb"
	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/repo"
)

// The parts of DB.Aggregate's SQL over the year's 525,600 rows, each
// timed alone, to see where its time goes: the scan, each JSON function,
// the window functions that pick first and last; and the floor of doing it
// in Go (the rows through database/sql, nothing decoded). The json_extract
// parts filter with typeof, which would count JSON true and false as 1 and
// 0: they time the parse, they are not the answer. noWindow is the answer
// (the same filter as AggregateRecord) without window functions, first and
// last by two index seeks a bucket; it is checked against Aggregate's.
// ns/row is per row scanned.
//
//	go test -run '^$' -bench AggregateParts -benchtime 3x ./internal/bench/
var aggParts = []struct{ name, sql string }{
	{"sql/scan", `SELECT COUNT(*), SUM(length(value_json)) FROM record_history
WHERE record_name = ?3 AND stored_at >= ?4 AND stored_at <= ?5 AND ?1 > 0 AND ?2 <> ''`},
	{"sql/json_extract", `SELECT b, COUNT(*), MIN(x), MAX(x), SUM(x) FROM (
  SELECT stored_at / ?1 * ?1 AS b, json_extract(value_json, ?2) AS x FROM record_history
  WHERE record_name = ?3 AND stored_at >= ?4 AND stored_at <= ?5)
WHERE typeof(x) IN ('integer', 'real') GROUP BY b ORDER BY b`},
	{"sql/json_valid+json_extract", `SELECT b, COUNT(*), MIN(x), MAX(x), SUM(x) FROM (
  SELECT stored_at / ?1 * ?1 AS b, json_extract(IIF(json_valid(value_json), value_json, 'null'), ?2) AS x FROM record_history
  WHERE record_name = ?3 AND stored_at >= ?4 AND stored_at <= ?5)
WHERE typeof(x) IN ('integer', 'real') GROUP BY b ORDER BY b`},
	{"sql/json_valid+json_extract+json_type", `SELECT b, COUNT(*), MIN(x), MAX(x), SUM(x) FROM (
  SELECT stored_at / ?1 * ?1 AS b,
         json_extract(IIF(json_valid(value_json), value_json, 'null'), ?2) AS x,
         json_type(IIF(json_valid(value_json), value_json, 'null'), ?2) AS t FROM record_history
  WHERE record_name = ?3 AND stored_at >= ?4 AND stored_at <= ?5)
WHERE t IN ('integer', 'real') GROUP BY b ORDER BY b`},
	{"sql/noWindow", noWindow},
	{"sql/current", benchdb.AggregateRecord},
}

// noWindow is AggregateRecord's answer without window functions: count,
// min, max, sum and the first and last times per bucket in one grouped
// pass, then each bucket's first and last value by an index seek.
const noWindow = `WITH v AS (
  SELECT stored_at / ?1 * ?1 AS b, stored_at,
         json_extract(IIF(json_valid(value_json), value_json, 'null'), ?2) AS x,
         json_type(IIF(json_valid(value_json), value_json, 'null'), ?2) AS t
  FROM record_history
  WHERE record_name = ?3 AND stored_at >= ?4 AND stored_at <= ?5
), g AS (
  SELECT b, COUNT(*) AS n, MIN(x) AS mn, MAX(x) AS mx, SUM(x) AS s, MIN(stored_at) AS f, MAX(stored_at) AS l
  FROM v WHERE t IN ('integer', 'real') GROUP BY b
)
SELECT b, n, mn, mx, s,
  (SELECT json_extract(value_json, ?2) FROM record_history
   WHERE record_name = ?3 AND stored_at = g.f AND json_valid(value_json)
     AND json_type(value_json, ?2) IN ('integer', 'real') ORDER BY id LIMIT 1),
  (SELECT json_extract(value_json, ?2) FROM record_history
   WHERE record_name = ?3 AND stored_at = g.l AND json_valid(value_json)
     AND json_type(value_json, ?2) IN ('integer', 'real') ORDER BY id DESC LIMIT 1)
FROM g ORDER BY b`

func BenchmarkAggregateParts(b *testing.B) {
	ctx := context.Background()
	r := &runner{cfg: Config{Dir: b.TempDir()}}
	path := r.path("agg-year.db")
	if err := r.buildYear(ctx, path); err != nil {
		b.Fatal(err)
	}
	h, err := rechist.Open(ctx, path, rechist.WithReadOnly())
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	raw, err := repo.Driver.OpenSQL(path, core.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	every := 24 * time.Hour
	want, err := h.Aggregate(ctx, yearRecord, rechist.AggregateParams{Field: "celsius", Every: every})
	if err != nil {
		b.Fatal(err)
	}
	perRow := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed())/float64(b.N)/yearMinutes, "ns/row")
	}
	b.Run("rechist.Aggregate", func(b *testing.B) {
		for b.Loop() {
			if _, err := h.Aggregate(ctx, yearRecord, rechist.AggregateParams{Field: "celsius", Every: every}); err != nil {
				b.Fatal(err)
			}
		}
		perRow(b)
	})
	b.Run("go/All+encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := goAggregate(ctx, h, yearRecord, every); err != nil {
				b.Fatal(err)
			}
		}
		perRow(b)
	})
	b.Run("go/fetch-only", func(b *testing.B) {
		// The rows' time and JSON through database/sql and nothing else:
		// the floor of any aggregate computed in Go.
		for b.Loop() {
			rows, err := raw.QueryContext(ctx, `SELECT stored_at, value_json FROM record_history
WHERE record_name = ? ORDER BY stored_at DESC, id DESC`, yearRecord)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				var at int64
				var v sql.RawBytes
				if err := rows.Scan(&at, &v); err != nil {
					b.Fatal(err)
				}
			}
			if err := rows.Close(); err != nil {
				b.Fatal(err)
			}
		}
		perRow(b)
	})
	for _, p := range aggParts {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				got, err := runAggSQL(ctx, raw, p.sql, every.Milliseconds())
				if err != nil {
					b.Fatal(err)
				}
				if p.sql == noWindow {
					if err := sameSeries(want, got); err != nil {
						b.Fatal(err)
					}
				}
			}
			perRow(b)
		})
	}
}

// runAggSQL runs one of aggParts over the year's record and reads its
// rows as buckets (the columns it has).
func runAggSQL(ctx context.Context, conn *sql.DB, query string, everyMs int64) ([]rechist.Series, error) {
	rows, err := conn.QueryContext(ctx, query, everyMs, `$."celsius"`, yearRecord, 0, int64(math.MaxInt64))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	s := rechist.Series{Name: yearRecord}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		if len(cols) < 7 {
			continue
		}
		f := func(v any) float64 {
			switch x := v.(type) {
			case int64:
				return float64(x)
			case float64:
				return x
			}
			return math.NaN()
		}
		bk := rechist.Bucket{Start: time.UnixMilli(vals[0].(int64)).UTC(), Count: vals[1].(int64),
			Min: f(vals[2]), Max: f(vals[3]), Sum: f(vals[4]), First: f(vals[5]), Last: f(vals[6])}
		bk.Mean = bk.Sum / float64(bk.Count)
		s.Buckets = append(s.Buckets, bk)
	}
	return []rechist.Series{s}, rows.Err()
}
