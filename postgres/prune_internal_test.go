package postgres

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/internal/testutil/pgtest"
	"github.com/seed178a96f3/rechist/postgres/internal/db"
)

func TestPartitionSpan(t *testing.T) {
	const w = 100
	for _, c := range []struct{ lo, hi, wantLo, wantHi int64 }{
		{150, 150, 100, 199},
		{100, 199, 100, 199},
		{99, 200, 0, 299},
		{-1, 5, -100, 99},
		{-100, -1, -100, -1},
		{-101, -100, -200, -1},
		{math.MinInt64, math.MaxInt64, math.MinInt64, math.MaxInt64},
		{math.MinInt64 + 99, math.MaxInt64 - 99, math.MinInt64, math.MaxInt64},
		{math.MinInt64 + w, math.MaxInt64 - w, math.MinInt64 + w - mod(math.MinInt64+w, w), math.MaxInt64 - w - mod(math.MaxInt64-w, w) + w - 1},
	} {
		lo, hi := partitionSpan(w, c.lo, c.hi)
		if lo != c.wantLo || hi != c.wantHi {
			t.Errorf("partitionSpan(%d, %d, %d) = %d, %d; want %d, %d", w, c.lo, c.hi, lo, hi, c.wantLo, c.wantHi)
		}
		if lo > c.lo || hi < c.hi {
			t.Errorf("partitionSpan(%d, %d, %d) = %d, %d: narrower than the range", w, c.lo, c.hi, lo, hi)
		}
	}
}

// Every statement pruned is given carries each marker once, so that the
// replacement cannot silently do nothing after a change to the .sql file.
func TestPruneMarkers(t *testing.T) {
	for name, q := range map[string]string{
		"QueryLatestNamed":     db.QueryLatestNamed,
		"QueryLatestNamedOpen": db.QueryLatestNamedOpen, "RecordRows": db.RecordRows, "RecordRowsOldest": db.RecordRowsOldest,
	} {
		if strings.Count(q, pruneLo) != 1 || strings.Count(q, pruneHi) != 1 {
			t.Errorf("%s: want each pruning marker once in\n%s", name, q)
		}
		if got := pruned(q, 3_600_000, 7_200_000, 7_300_000); strings.Contains(got, pruneLo) || strings.Contains(got, pruneHi) ||
			!strings.Contains(got, "(7200000)::bigint") || !strings.Contains(got, "(10799999)::bigint") {
			t.Errorf("%s: pruned kept a marker or lacks the bounds:\n%s", name, got)
		}
		if pruned(q, 0, 7_200_000, 7_300_000) != q {
			t.Errorf("%s: pruned changed the statement of a table that is not partitioned", name)
		}
	}
}

// A one-record read on a partitioned table plans only the partitions its
// range covers even as a cached (generic) plan: the partitions are
// constants of the statement, so PostgreSQL leaves the others out when it
// plans, not each time the plan runs ("Subplans Removed"), which opens
// every partition. Each statement is prepared as pgx's statement cache
// prepares it and explained with the plan cache forced to its generic plan.
func TestPrunedPlansNameOnlyTheRangesPartitions(t *testing.T) {
	ctx := t.Context()
	cfg, err := core.Config{PartitionWidth: time.Hour}.Normalized()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := open(ctx, pgtest.NewSchema(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	e := eng.(*engine)
	const hour = int64(3_600_000)
	if _, err := e.pool.Exec(ctx, `SELECT rechist_partitions_for(ARRAY(SELECT generate_series(0, 47) * 3600000::bigint))`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO record_history (record_name, value_json, stored_at)
		SELECT 'a::' || (i % 3), '1', i * 60000 FROM generate_series(0, 48 * 60 - 1) AS i`); err != nil {
		t.Fatal(err)
	}
	tx := planTx(t, e, "plan_cache_mode = force_generic_plan")
	lo, hi := 10*hour+5, 12*hour+7 // three partitions: 10h, 11h, 12h
	bounds := fmt.Sprintf("%d, %d", lo, hi)
	for i, c := range []struct {
		name  string
		query string
		args  string // EXECUTE's arguments
	}{
		{"QueryLatestNamed", db.QueryLatestNamed, bounds + ", 5, 'a::1', 'a::2', 'a::1'"},
		{"QueryLatestNamedOpen", db.QueryLatestNamedOpen, bounds + ", NULL, 'a::', 'a::%'"},
		{"RecordRows", db.RecordRows, "'a::1', " + bounds + ", NULL"},
		{"RecordRowsOldest", db.RecordRowsOldest, "'a::1', " + bounds + ", 10"},
	} {
		stmt := fmt.Sprintf("pruned_%d", i)
		if _, err := tx.Conn().Prepare(ctx, stmt, pruned(c.query, hour, lo, hi)); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		plan := explain(t, tx, c.name, fmt.Sprintf("EXPLAIN EXECUTE %s(%s)", stmt, c.args), pgx.QueryExecModeSimpleProtocol)
		if n := strings.Count(plan, " on record_history_"); n != 3 || strings.Contains(plan, "Subplans Removed") {
			t.Errorf("%s: %d partitions in the plan, want the range's 3 and none removed at run time:\n%s", c.name, n, plan)
		}
	}
}
