package repo

import (
	"context"
	"path/filepath"
	"testing"
)

// openTest opens an engine on a new file in t.TempDir and closes it at the
// end of the test.
func openTest(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e, err := Open(t.Context(), filepath.Join(t.TempDir(), "history.db"), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

func mustInsert(t *testing.T, e *Engine, rows ...Row) {
	t.Helper()
	if err := e.Insert(context.Background(), rows); err != nil {
		t.Fatalf("Insert: %v", err)
	}
}
