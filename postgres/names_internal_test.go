package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/seed178a96f3/rechist/postgres/internal/db"
)

// The names table's reads are ranges of its name index, and the walk and
// a cleanup's chunk take each name's rows from idx_record_time (sequential scans off, so
// that the planner shows what it can use on a table this small).
func TestNamedQueryPlans(t *testing.T) {
	e := openEngine(t)
	ctx := t.Context()
	if _, err := e.pool.Exec(ctx, `INSERT INTO record_history (record_name, value_json, stored_at)
		SELECT 'a::' || (i % 10), '1', i FROM generate_series(1, 200) AS i`); err != nil {
		t.Fatal(err)
	}
	tx := planTx(t, e, "enable_seqscan = off")
	for _, c := range []struct {
		name  string
		query string
		want  []string
		args  []any
	}{
		{"QueryLatestNamed", db.QueryLatestNamed, []string{"rechist_record_record_name_key", "idx_record_time"}, []any{0, 1000, 5, "a::", "a:;", "a::%"}},
		{"NamedRecords", db.NamedRecords, []string{"rechist_record_record_name_key"}, []any{"a::", "", "a:;", 512}},
		// A cleanup's chunk: the records from the names table, each one's
		// rows an index range from its oldest on.
		{"DeleteOlderThanChunk", db.DeleteOlderThanChunk, []string{"rechist_record_record_name_key", "idx_record_time"}, []any{100, 256, "a::3"}},
		// Where its window ends: a range of the time index from the
		// window's start.
		{"CleanupWindowEnd", db.CleanupWindowEnd, []string{"idx_record_stored_at"}, []any{50, 150, 20}},
	} {
		plan := explain(t, tx, c.name, "EXPLAIN "+c.query, c.args...)
		for _, w := range c.want {
			if !strings.Contains(plan, w) || strings.Contains(plan, "Seq Scan") {
				t.Errorf("%s: plan\n%s\nwant %q and no sequential scan", c.name, plan, w)
			}
		}
	}
}

// planTx begins a transaction on e's pool for EXPLAINs, with setting (a
// planner setting) SET LOCAL, rolled back when the test ends.
func planTx(t *testing.T, e *engine, setting string) pgx.Tx {
	t.Helper()
	tx, err := e.pool.BeginTx(t.Context(), pgx.TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	if _, err := tx.Exec(t.Context(), "SET LOCAL "+setting); err != nil {
		t.Fatal(err)
	}
	return tx
}

// explain runs sql, an EXPLAIN, on tx and returns its plan's lines joined.
func explain(t *testing.T, tx pgx.Tx, name, sql string, args ...any) string {
	t.Helper()
	rows, err := tx.Query(t.Context(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return strings.Join(lines, "\n")
}
