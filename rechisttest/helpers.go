package rechisttest

import (
	"context"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil"
)

// accuracy is the value type of the Rust crate's README.
type accuracy = testutil.Accuracy

// short local names for the suite's own tests
func ms(n int64) time.Time { return testutil.MS(n) }

func storeAt[T any](t *testing.T, r *rechist.Repo[T], name string, v T, at time.Time) {
	t.Helper()
	testutil.StoreAt(t, r, name, v, at)
}

func summary[T any](recs []rechist.Record[T]) string { return testutil.Summary(recs) }
func names[T any](recs []rechist.Record[T]) string   { return testutil.Names(recs) }

// openDB opens a new database for the test and closes it at the end.
func (h Harness) openDB(t *testing.T, opts ...rechist.Option) (*rechist.DB, string) {
	t.Helper()
	dsn := h.NewDSN(t)
	db, err := rechist.Open(context.Background(), dsn, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db, dsn
}
