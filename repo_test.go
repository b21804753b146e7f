package rechist_test

// End-to-end tests of the public API on SQLite: the engine conformance
// suite (package rechisttest) on real files, plus what only SQLite has.

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/rechisttest"
)

// TestConformance runs the engine conformance suite on SQLite files.
func TestConformance(t *testing.T) {
	rechisttest.Run(t, rechisttest.Harness{
		Fast:       []rechist.Option{rechist.WithSynchronous(rechist.SyncNormal)},
		HoldWrites: holdSQLiteWrites,
		NewDSN: func(t *testing.T) string {
			return filepath.Join(t.TempDir(), "nested", "data", "history.db")
		},
		InsertRaw: func(t *testing.T, path, name, valueJSON string, storedAt int64) {
			t.Helper()
			execSQLite(t, path, `INSERT INTO record_history (record_name, value_json, stored_at) VALUES (?, ?, ?)`,
				name, valueJSON, storedAt)
		},
		ExecRaw: func(t *testing.T, path, query string) {
			t.Helper()
			execSQLite(t, path, query)
		},
	})
}

// execSQLite runs one statement on the file at path on a connection of
// its own, as another program would (one that waits up to 10 s for the
// write lock, as the Rust crate's sqlx pool does for 5 s).
func execSQLite(t *testing.T, path, query string, args ...any) {
	t.Helper()
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(query, args...); err != nil {
		t.Fatal(err)
	}
}

func TestMemoryDatabase(t *testing.T) {
	ctx := t.Context()
	a, err := rechist.Open(ctx, rechist.MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := rechist.Open(ctx, rechist.MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := rechist.NewRepo[int](a).Store(ctx, "x", 1); err != nil {
		t.Fatal(err)
	}
	if got, err := rechist.QueryLatest[int](ctx, a, "x", 1); err != nil || len(got) != 1 {
		t.Fatalf("memory database a: %v, %v", got, err)
	}
	// Each Open of :memory: is a database of its own.
	if got, err := rechist.QueryLatest[int](ctx, b, "x", 1); err != nil || len(got) != 0 {
		t.Fatalf("memory database b sees a's rows: %v, %v", got, err)
	}
}
