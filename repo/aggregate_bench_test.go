package repo

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/seed178a96f3/rechist/internal/core"
)

// aggBenchFile fills a new file with the two shapes of `rechist bench
// --only aggregate`, smaller: one record of 100,000 per-minute rows
// ("year", contiguous in the table) and 24 records of 5,000 rows each
// written interleaved ("week").
func aggBenchFile(b *testing.B) *testDB {
	b.Helper()
	e := openTest(b, core.Config{Synchronous: core.SyncNormal})
	tx, err := e.e.writeDB.Begin()
	if err != nil {
		b.Fatal(err)
	}
	ins, err := tx.Prepare(`INSERT INTO record_history (record_name, value_json, stored_at) VALUES (?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	v := func(i int) string { return fmt.Sprintf(`{"celsius":%.2f}`, float64(i%5000)/100-10) }
	for i := range 100_000 {
		if _, err := ins.Exec("year", v(i), int64(i)*60_000); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 24 * 5000 {
		if _, err := ins.Exec(fmt.Sprintf("week%02d", i%24), v(i), int64(i/24)*60_000); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkAggregate times Aggregate over both shapes, and the baseline of
// reading the same rows out (Rows, encoding/json, a map of buckets).
// ns/row is per row scanned.
//
//	go test -run '^$' -bench Aggregate -benchmem ./repo/
func BenchmarkAggregate(b *testing.B) {
	e := aggBenchFile(b)
	ctx := context.Background()
	for _, sc := range []struct {
		name, pattern string
		every         int64
		rows          int
	}{{"year", "year", 86_400_000, 100_000}, {"week", "week*", 3_600_000, 24 * 5000}} {
		spec := core.AggSpec{Path: []string{"celsius"}, EveryMs: sc.every, StartMs: 0, EndMs: 1 << 62}
		b.Run(sc.name+"/Aggregate", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Aggregate(ctx, sc.pattern, spec); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(sc.rows), "ns/row")
		})
		b.Run(sc.name+"/Rows+json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				err := e.e.Read(ctx, func(rd core.Reader) error {
					for i := range 24 {
						name := sc.pattern
						if sc.name == "week" {
							name = fmt.Sprintf("week%02d", i)
						} else if i > 0 {
							break
						}
						sums := map[int64]float64{}
						err := rd.Rows(ctx, name, core.Range{StartMs: spec.StartMs, EndMs: spec.EndMs}, func(r core.Row) bool {
							var x struct{ Celsius *float64 }
							if json.Unmarshal([]byte(r.ValueJSON), &x) == nil && x.Celsius != nil {
								sums[r.StoredAt/spec.EveryMs] += *x.Celsius
							}
							return true
						})
						if err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(sc.rows), "ns/row")
		})
	}
}

// BenchmarkAggregatorRow times rechist_aggregate's work on one row, in Go
// alone (no SQLite): the values of BenchmarkAggregate, into daily buckets.
//
//	go test -run '^$' -bench AggregatorRow ./repo/
func BenchmarkAggregatorRow(b *testing.B) {
	const rows = 100_000
	vals := make([]driver.Value, rows)
	for i := range vals {
		vals[i] = fmt.Sprintf(`{"celsius":%.2f}`, float64(i%5000)/100-10)
	}
	b.ReportAllocs()
	for b.Loop() {
		a := &aggregator{path: []string{"celsius"}, every: 86_400_000}
		for i, v := range vals {
			if _, err := a.row(v, int64(i)*60_000); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N*rows), "ns/row")
}
