package repo

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist/internal/core"
)

func insertRequest(names ...string) *core.Request {
	r := &core.Request{Kind: core.KindInsert}
	for _, n := range names {
		r.Rows = append(r.Rows, core.Row{Name: n, ValueJSON: "1"})
	}
	return r
}

// recentRows answers only from the id right after the cursor, up to the
// first gap, at the data_version it was filled at, within its cap.
func TestRecentRowsAnswersOnlyWhatItKnows(t *testing.T) {
	var c recentRows
	c.on = true
	c.add(5, 12, []*core.Request{insertRequest("a", "b"), insertRequest("c")}) // ids 10-12
	c.add(5, 14, []*core.Request{insertRequest("d", "e")})                     // 13-14
	c.add(5, 20, []*core.Request{insertRequest("f")})                          // 20, after a gap

	if _, ok := c.after(5, 8, 100); ok {
		t.Fatal("rows after 8: answered, but id 9 is not known")
	}
	rows, ok := c.after(5, 10, 3)
	if !ok || len(rows) != 3 || rows[0].ID != 11 || rows[0].Name != "b" || rows[2].ID != 13 || rows[2].Name != "d" {
		t.Fatalf("rows after 10, limit 3: %+v %v; want ids 11-13 (b, c, d)", rows, ok)
	}
	rows, ok = c.after(5, 13, 100)
	if !ok || len(rows) != 1 || rows[0].ID != 14 {
		t.Fatalf("rows after 13: %+v %v; want id 14 alone: 15 is not known", rows, ok)
	}
	if c.n != 3 {
		t.Fatalf("%d rows kept after the cursor passed 13, want 3 (13-14's segment and 20)", c.n)
	}
	if _, ok := c.after(5, 14, 100); ok {
		t.Fatal("rows after 14: answered across the gap to 20")
	}
	if rows, ok := c.after(5, 19, 100); !ok || len(rows) != 1 || rows[0].ID != 20 {
		t.Fatalf("rows after 19: %+v %v; want id 20", rows, ok)
	}
	// Another connection committed: nothing is answered, all is dropped.
	c.add(5, 30, []*core.Request{insertRequest("g")})
	if _, ok := c.after(6, 29, 100); ok || c.n != 0 {
		t.Fatalf("at another data_version: answered %v, %d rows kept; want none", ok, c.n)
	}
	// A segment read at a new version starts afresh.
	c.add(5, 31, []*core.Request{insertRequest("h")})
	c.add(7, 32, []*core.Request{insertRequest("i")})
	if _, ok := c.after(7, 30, 100); ok {
		t.Fatal("row 31, kept before data_version changed, answered")
	}
	if rows, ok := c.after(7, 31, 100); !ok || len(rows) != 1 || rows[0].Name != "i" {
		t.Fatalf("rows after 31: %+v %v; want i", rows, ok)
	}
	c.drop()
	if _, ok := c.after(7, 31, 100); ok {
		t.Fatal("answered after drop")
	}
	c.add(7, 100, []*core.Request{insertRequest(strings.Repeat("x", recentCap))})
	if c.n != 0 || c.bytes != 0 {
		t.Fatalf("%d rows kept of a transaction over the cap", c.n)
	}
}

// Rows within one segment (one transaction's, as StoreMany's) are handed
// out as kept, with their ids, and appending to what after returned
// leaves the segment as it was.
func TestRecentRowsWithinOneSegment(t *testing.T) {
	var c recentRows
	c.on = true
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprint("n", i+1)
	}
	c.add(5, 1000, []*core.Request{insertRequest(names...)}) // ids 1-1000
	rows, ok := c.after(5, 10, 100)
	if !ok || len(rows) != 100 || rows[0].ID != 11 || rows[0].Name != "n11" || rows[99].ID != 110 {
		t.Fatalf("rows after 10, limit 100: %d rows %v, first %+v", len(rows), ok, rows[0])
	}
	_ = append(rows, core.Row{ID: 111, Name: "overwritten"})
	if rows, ok := c.after(5, 110, 1); !ok || len(rows) != 1 || rows[0].ID != 111 || rows[0].Name != "n111" {
		t.Fatalf("row after 110: %+v %v; want id 111, n111", rows, ok)
	}
	if rows, ok := c.after(5, 990, 100); !ok || len(rows) != 10 || rows[9].ID != 1000 {
		t.Fatalf("rows after 990: %d %v; want the last 10", len(rows), ok)
	}
}

// rollUpAll rolls up until the tiers are up to date.
func rollUpAll(t *testing.T, e *testDB) {
	t.Helper()
	if _, err := e.RollUp(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// count is the rows the one-minute tier holds for record r from start on.
func tierCount(t *testing.T, e *testDB, start int64) (n int64) {
	t.Helper()
	got, err := e.Aggregate(context.Background(), "r", core.AggSpec{EveryMs: 60_000, StartMs: start, EndMs: start + time.Hour.Milliseconds()})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].TierMs != 60_000 {
		t.Fatalf("Aggregate: %+v; want one series served by the 1m tier", got)
	}
	for _, b := range got[0].Buckets {
		n += b.Count
	}
	return n
}

// tieredFile opens a file whose records r* have a one-minute tier, rolled
// up once (so the writer keeps its rows for the next rollup), and returns
// a minute-aligned time an hour ago.
func tieredFile(t *testing.T) (*testDB, int64) {
	t.Helper()
	e := openTest(t, core.Config{})
	if err := e.SetPolicy(context.Background(), core.Policy{Pattern: "r*", Lang: core.LangWildcard, Tiers: []core.Tier{{EveryMs: 60_000}}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Hour).Truncate(time.Minute).UnixMilli()
	mustInsert(t, e, core.Row{Name: "r", ValueJSON: "1", StoredAt: start - 60_000})
	rollUpAll(t, e)
	return e, start
}

// rollUpAndCheck rolls up, then checks how many rows the rollup has taken
// from memory so far and how many the tier holds from start on.
func rollUpAndCheck(t *testing.T, e *testDB, start, served, held int64) {
	t.Helper()
	rollUpAll(t, e)
	if got := e.e.recent.served; got != served {
		t.Fatalf("%d rows taken from memory, want %d", got, served)
	}
	if n := tierCount(t, e, start); n != held {
		t.Fatalf("the tier holds %d rows from start, want %d", n, held)
	}
}

func rowsAt(start int64, n int) []core.Row {
	rows := make([]core.Row, n)
	for i := range rows {
		rows[i] = core.Row{Name: "r", ValueJSON: fmt.Sprint(i), StoredAt: start + int64(i)*1000}
	}
	return rows
}

// The rollup takes the rows the writer has just committed from memory,
// and the tiers come out as from the table.
func TestRollupTakesTheWritersRowsFromMemory(t *testing.T) {
	e, start := tieredFile(t)
	mustInsert(t, e, rowsAt(start, 200)...)
	mustInsert(t, e, rowsAt(start+200_000, 100)...)
	rollUpAndCheck(t, e, start, 300, 300) // the 300 just stored
}

// A file whose policies have tiers, opened again, keeps the writer's rows
// for the rollup from its first store: the first batch after an open was
// read back from the table (0 rows from memory).
func TestRollupTakesTheFirstRowsAfterAnOpenFromMemory(t *testing.T) {
	e, start := tieredFile(t)
	path := e.Path()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = openTestAt(t, path, core.Config{})
	mustInsert(t, e, rowsAt(start, 100)...)
	rollUpAndCheck(t, e, start, 100, 100)
}

// A store of one row (an autocommit INSERT, not a transaction) is kept
// too, when no other connection has committed meanwhile: 64 goroutines
// storing commit batches of one row between larger ones, and each used
// to make the writer forget its rows, so that the rollup read them back.
func TestRollupTakesOneRowStoresFromMemory(t *testing.T) {
	e, start := tieredFile(t)
	mustInsert(t, e, rowsAt(start, 100)...)
	for i := range 5 {
		mustInsert(t, e, rowsAt(start+int64(100+i)*1000, 1)...)
	}
	mustInsert(t, e, rowsAt(start+200_000, 50)...)
	rollUpAndCheck(t, e, start, 155, 155) // the 155 just stored
}

// A one-row store after another process's commit is not kept, nor is
// what was kept before: the rollup reads the table, and the tier counts
// neither the rows that process deleted nor any twice.
func TestOneRowStoreAfterAnotherProcessCommitted(t *testing.T) {
	e, start := tieredFile(t)
	mustInsert(t, e, rowsAt(start, 200)...)
	startHelper(t, fmt.Sprintf("exec:DELETE FROM record_history WHERE stored_at < %d", start+50_000), e.Path())()
	mustInsert(t, e, rowsAt(start+300_000, 1)...)
	rollUpAndCheck(t, e, start, 0, 151) // the 150 left and the one stored after
}

// Rows another process deletes after the writer committed them, before
// the rollup, are not rolled up from memory: the rollup sees the other
// connection's commit (data_version) and reads the table. Without that,
// the tier counted the 50 deleted rows.
func TestRollupSeesAnotherProcessDeleteRowsJustStored(t *testing.T) {
	e, start := tieredFile(t)
	mustInsert(t, e, rowsAt(start, 200)...)
	startHelper(t, fmt.Sprintf("exec:DELETE FROM record_history WHERE stored_at < %d", start+50_000), e.Path())()
	rollUpAndCheck(t, e, start, 0, 150) // the 150 left
	// The writer's next rows come from memory again.
	mustInsert(t, e, rowsAt(start+300_000, 10)...)
	rollUpAndCheck(t, e, start, 10, 160) // the 10 stored since
}

// The writer's own delete makes it forget what it kept: a Delete of rows
// not yet rolled up leaves them out of the tier.
func TestRollupAfterTheWritersOwnDelete(t *testing.T) {
	ctx := context.Background()
	e, start := tieredFile(t)
	mustInsert(t, e, rowsAt(start, 200)...)
	if _, err := e.Delete(ctx, "r", core.Range{StartMs: start, EndMs: start + 49_999}); err != nil {
		t.Fatal(err)
	}
	rollUpAll(t, e)
	if n := tierCount(t, e, start); n != 150 {
		t.Fatalf("the tier holds %d rows from start, want the 150 left", n)
	}
}

// While a tier is marked to be filled from raw rows (a policy change's
// fill cut short), retention keeps the record's raw rows, so the fill
// still finds them all; RollUp fills it, and retention then deletes.
func TestRetentionKeepsRawRowsOfATierToFill(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, core.Config{})
	old := time.Now().Add(-48 * time.Hour).Truncate(time.Minute).UnixMilli()
	mustInsert(t, e, rowsAt(old, 100)...)
	pol := core.Policy{Pattern: "r*", Lang: core.LangWildcard, RawKeepMs: time.Hour.Milliseconds(), Tiers: []core.Tier{{EveryMs: 60_000}}}
	if err := e.SetPolicy(ctx, pol); err != nil {
		t.Fatal(err)
	}
	// A 30 s tier (no finer one to fill it from), as a policy change
	// whose fill was cut short leaves it.
	pol.Tiers = append([]core.Tier{{EveryMs: 30_000}}, pol.Tiers...)
	if _, err := commitTiers(t, e, func(ctx context.Context, s core.TierStore) (int64, error) {
		if err := s.SetPolicy(ctx, pol); err != nil {
			return 0, err
		}
		return 0, s.MarkFill(ctx, "r", 30_000)
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := e.ApplyRetention(ctx); err != nil || n != 0 {
		t.Fatalf("ApplyRetention = %d, %v; want no row deleted while a tier waits for them", n, err)
	}
	rollUpAll(t, e)
	got, err := e.Aggregate(ctx, "r", core.AggSpec{EveryMs: 30_000, StartMs: old - 30_000, EndMs: old + time.Hour.Milliseconds()})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, b := range got[0].Buckets {
		n += b.Count
	}
	if len(got) != 1 || got[0].TierMs != 30_000 || n != 100 {
		t.Fatalf("Aggregate every 30s: %d rows from the %d ms tier, want the 100 from the new 30s tier", n, got[0].TierMs)
	}
	if n, err := e.ApplyRetention(ctx); err != nil || n != 100 {
		t.Fatalf("ApplyRetention after the fill = %d, %v; want the 100 old rows", n, err)
	}
}
