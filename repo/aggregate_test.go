package repo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/seed178a96f3/rechist/internal/bench/benchdb"
	"github.com/seed178a96f3/rechist/internal/core"
)

// rechist_aggregate (what Aggregate runs) agrees with the SQL reference
// (AggregateRecord: json_extract, GROUP BY, window functions) on random
// values: numbers, strings, booleans, nulls, missing and nested fields,
// ties in time, and values that are not JSON at all.
func TestAggregateAgreesWithSQLReference(t *testing.T) {
	e := openTest(t, core.Config{})
	rng := rand.New(rand.NewPCG(5, 6))
	values := func() string {
		switch rng.IntN(9) {
		case 0:
			return `{"c":"warm"}`
		case 1:
			return `{"c":true}`
		case 2:
			return `{"c":null}`
		case 3:
			return `{"other":1}`
		case 4:
			return fmt.Sprintf(`{"r":{"v":%d},"c":%d}`, rng.IntN(100), rng.IntN(50))
		case 5:
			return fmt.Sprintf(`%g`, rng.Float64()*100-50)
		case 6:
			return fmt.Sprintf(`{ "c" : %ge%d , "x":[1,{"c":9}]}`, rng.Float64(), rng.IntN(3))
		case 7:
			return `[1,2]`
		}
		return fmt.Sprintf(`{"c":%d}`, rng.IntN(1000)-500)
	}
	var rows []core.Row
	for i := range 3000 {
		rows = append(rows, core.Row{Name: fmt.Sprintf("r%d", i%3), ValueJSON: values(), StoredAt: int64(rng.IntN(5000))})
	}
	mustInsert(t, e, rows...)
	if _, err := e.e.writeDB.Exec(`INSERT INTO record_history (record_name, value_json, stored_at) VALUES ('r0', 'not json', 7)`); err != nil {
		t.Fatal(err)
	}
	// Times another program wrote as REAL: ordered by their exact value
	// (first and last), bucketed by CAST AS INTEGER.
	for i := range 300 {
		at := float64(rng.IntN(5000)) + []float64{0.25, 0.5, 0.75}[rng.IntN(3)]
		if _, err := e.e.writeDB.Exec(`INSERT INTO record_history (record_name, value_json, stored_at) VALUES (?, ?, ?)`, fmt.Sprintf("r%d", i%3), values(), at); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	for i := range 60 {
		path := [][]string{{"c"}, {"r", "v"}, nil, {"missing"}}[i%4]
		spec := core.AggSpec{Path: path, EveryMs: int64(1 + rng.IntN(700)), StartMs: int64(rng.IntN(1000)), EndMs: int64(2000 + rng.IntN(4000))}
		name := fmt.Sprintf("r%d", i%3)
		var got []core.Bucket
		err := e.e.Read(ctx, func(rd core.Reader) error {
			var err error
			got, err = rd.Aggregate(ctx, name, spec)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want, err := benchdb.New(e.e.readDB).AggregateRecord(ctx, benchdb.AggregateRecordParams{EveryMs: spec.EveryMs, Path: jsonPath(path), Name: name, StartMs: spec.StartMs, EndMs: spec.EndMs})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s %+v: %d buckets, the reference %d", name, spec, len(got), len(want))
		}
		for j, w := range want {
			g := got[j]
			if g.StartMs != w.Bucket || g.Count != w.N || g.Min != w.MinX || g.Max != w.MaxX || g.First != w.FirstX || g.Last != w.LastX || !near(g.Sum, w.SumX) {
				t.Fatalf("%s %+v bucket %d:\n got  %+v\n want %+v", name, spec, j, g, w)
			}
		}
	}
}

func near(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= 1e-9*(1+max(a, -a, b, -b))
}

// jsonPath writes a path of object keys as a SQLite JSON path: $."a"."b".
// (what the SQL reference takes; the core refuses keys with '"' or '\').
func jsonPath(keys []string) string {
	var b strings.Builder
	b.WriteString("$")
	for _, k := range keys {
		fmt.Fprintf(&b, ".%q", k)
	}
	return b.String()
}

// aggregateSQL's subquery reads idx_record_time backwards for its ORDER
// BY, with no sorter: rechist_aggregate relies on that order, and on the
// backward read for speed.
func TestAggregatePlan(t *testing.T) {
	e := openTest(t, core.Config{})
	rows, err := e.e.readDB.Query(`EXPLAIN QUERY PLAN `+aggregateSQL, 0, "r", 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	got := strings.Join(plan, "\n")
	if !strings.Contains(got, "USING INDEX idx_record_time") || strings.Contains(got, "TEMP B-TREE") {
		t.Errorf("plan:\n%s", got)
	}
}

// Tokens are the smallest free ones, looked up without the lock below 256
// and with it beyond.
func TestAggregateTokens(t *testing.T) {
	var as []*aggregator
	var ts []int64
	for range 300 {
		a := &aggregator{}
		as = append(as, a)
		ts = append(ts, start(a))
	}
	for i, tok := range ts {
		if lookup(tok) != as[i] {
			t.Fatalf("token %d: not its aggregator", tok)
		}
	}
	stop(ts[3])
	stop(ts[280])
	if lookup(ts[3]) != nil || lookup(ts[280]) != nil {
		t.Fatal("a stopped token still finds an aggregator")
	}
	if tok := start(&aggregator{}); tok != ts[3] {
		t.Fatalf("token %d, want the smallest free %d", tok, ts[3])
	} else {
		stop(tok)
	}
	for i, tok := range ts {
		if i != 3 && i != 280 {
			stop(tok)
		}
	}
	if lookup(0) != nil || len(running.m) != 0 {
		t.Fatal("tokens left in use")
	}
}
