package repo

import (
	"github.com/seed178a96f3/rechist/internal/core"

	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/seed178a96f3/rechist/db"
	"github.com/seed178a96f3/rechist/repo/internal/syncdb"
)

// explain returns SQLite's EXPLAIN QUERY PLAN for query, one step a line.
func explain(t *testing.T, e *testDB, query string, args ...any) string {
	t.Helper()
	rows, err := e.e.readDB.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The latest-N walk must reach every row through idx_record_time: seeks on
// a literal prefix, never a scan of the table or of a whole index.
func TestQueryPlanUsesRecordTimeIndex(t *testing.T) {
	e := openTest(t, core.Config{})
	for i := range 50 {
		mustInsert(t, e, core.Row{Name: fmt.Sprintf("accuracy::city%02d", i%10), ValueJSON: "1", StoredAt: int64(i)})
	}
	p, err := core.CompilePattern("query", "accuracy::*")
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := nameRange(p)
	plan := explain(t, e, db.QueryLatestWalk, 0, 100, 5, glob(p), lo, hi)
	t.Logf("plan:\n%s", plan)
	for _, want := range []string{
		"SEARCH r USING COVERING INDEX idx_record_time (record_name>? AND record_name<?)",
		"SEARCH x USING COVERING INDEX idx_record_time (record_name=? AND stored_at>? AND stored_at<?)",
		"SEARCH h USING INDEX idx_record_time (record_name=? AND stored_at>? AND stored_at<?)",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	if strings.Contains(plan, "SCAN r") || strings.Contains(plan, "SCAN x") || strings.Contains(plan, "SCAN h") {
		t.Errorf("plan scans record_history")
	}
	if strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("plan sorts in SQL; the engine orders the rows")
	}

	// A pattern of only '*' without a limit reads the time range through
	// the stored_at index, already in the order the engine groups by.
	plan = explain(t, e, db.QueryTimeRange, 10, 40)
	t.Logf("time range plan:\n%s", plan)
	if !strings.Contains(plan, "idx_record_stored_at (stored_at>? AND stored_at<?)") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("time range does not read idx_record_stored_at in order")
	}

	// Retention deletes through the stored_at index.
	plan = explain(t, e, db.DeleteOlderThanChunk, 0, 10, 1000)
	t.Logf("cleanup plan:\n%s", plan)
	if !strings.Contains(plan, "idx_record_stored_at (stored_at>? AND stored_at<?)") {
		t.Errorf("cleanup does not use idx_record_stored_at")
	}
}

// With the names table, the walk reads the pattern's names as one range
// of the table's name index, and each name's rows as before; a page of
// names (Records, All) is one range of that index too.
func TestNamedQueryPlans(t *testing.T) {
	e := openTest(t, core.Config{})
	for i := range 50 {
		mustInsert(t, e, core.Row{Name: fmt.Sprintf("accuracy::city%02d", i%10), ValueJSON: "1", StoredAt: int64(i)})
	}
	p, err := core.CompilePattern("query", "accuracy::*")
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := nameRange(p)
	names := "SEARCH rechist_record USING INDEX sqlite_autoindex_rechist_record_1 (record_name>? AND record_name<?)"
	plan := explain(t, e, syncdb.QueryLatestNamed, 100, 5, 0, glob(p), lo, hi)
	t.Logf("plan:\n%s", plan)
	for _, want := range []string{
		names,
		"SEARCH x USING COVERING INDEX idx_record_time (record_name=? AND stored_at>? AND stored_at<?)",
		"SEARCH h USING INDEX idx_record_time (record_name=? AND stored_at>? AND stored_at<?)",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	if strings.Contains(plan, "SCAN") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("plan scans or sorts")
	}
	plan = explain(t, e, syncdb.NamedRecords, lo, "", hi, 512)
	t.Logf("names plan:\n%s", plan)
	if !strings.Contains(plan, names) || strings.Contains(plan, "SCAN") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("a page of names is not one range of the name index")
	}
}
