package rechist_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil"
)

// Accuracy is the value type of the Rust crate's README.
type Accuracy = testutil.Accuracy

// openDB opens a database on a new file in t.TempDir and closes it at the
// end of the test.
func openDB(t *testing.T, opts ...rechist.Option) (*rechist.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "history.db")
	db, err := rechist.Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db, path
}

// ms is a fixed time base so tests state times as small numbers.
func ms(n int64) time.Time { return testutil.MS(n) }

func storeAt[T any](t *testing.T, r *rechist.Repo[T], name string, v T, at time.Time) {
	t.Helper()
	testutil.StoreAt(t, r, name, v, at)
}

// summary renders records as "name@ms=value" for compact comparisons.
func summary[T any](recs []rechist.Record[T]) string { return testutil.Summary(recs) }

func names[T any](recs []rechist.Record[T]) string { return testutil.Names(recs) }
