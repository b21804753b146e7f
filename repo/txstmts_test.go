package repo

import (
	"context"
	"database/sql"
	"testing"

	"github.com/seed178a96f3/rechist/internal/core"
)

// A statement the writer did not prepare at Open (none of writerQueries)
// runs in a write transaction all the same, prepared on it: a new kind of
// request needs no entry in writerQueries unless it is hot.
func TestTxStmtsRunsAStatementNotPreparedAtOpen(t *testing.T) {
	e := openTest(t, core.Config{})
	ctx := context.Background()
	const update = "UPDATE record_history SET value_json = ? WHERE record_name = ?"
	if e.e.writeSt.lookup(update) != nil {
		t.Fatal("the test's statement is among writerQueries; pick another")
	}
	mustInsert(t, e, core.Row{Name: "a", ValueJSON: "1", StoredAt: 1})
	tx, err := e.e.writeDB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := &txStmts{tx: tx, stmts: e.e.writeSt, bound: map[string]*sql.Stmt{}}
	for _, v := range []string{"2", "3"} { // the second call reuses the statement
		if _, err := ts.ExecContext(ctx, update, v, "a"); err != nil {
			t.Fatalf("exec %s: %v", v, err)
		}
	}
	if len(ts.bound) != 1 {
		t.Fatalf("bound %d statements, want 1", len(ts.bound))
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := e.e.readDB.QueryRowContext(ctx, "SELECT value_json FROM record_history WHERE record_name = 'a'").Scan(&v); err != nil || v != "3" {
		t.Fatalf("value %q, %v; want 3", v, err)
	}
}
