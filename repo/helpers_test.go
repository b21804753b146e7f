package repo

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/seed178a96f3/rechist/internal/core"
)

// testDB is a DB over this package's engine, with the engine at hand for
// tests that look inside it.
type testDB struct {
	*core.DB
	e *engine
}

// openTest opens the SQLite engine on a new file in a temp dir through the
// core, as package rechist does, and closes it at the end of the test.
func openTest(tb testing.TB, cfg core.Config) *testDB {
	tb.Helper()
	return openTestAt(tb, filepath.Join(tb.TempDir(), "history.db"), cfg)
}

// openTestAt is openTest on the file at path.
func openTestAt(tb testing.TB, path string, cfg core.Config) *testDB {
	tb.Helper()
	db, err := core.Open(context.Background(), Driver, path, path, cfg)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return &testDB{DB: db, e: db.Engine().(*engine)}
}

func mustInsert(t testing.TB, db *testDB, rows ...core.Row) {
	t.Helper()
	if err := db.Insert(context.Background(), rows); err != nil {
		t.Fatalf("Insert: %v", err)
	}
}
