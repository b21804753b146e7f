package rechist_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// Accuracy is the value type of the Rust crate's README.
type Accuracy struct {
	Value float64 `json:"value"`
	City  string  `json:"city"`
}

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
func ms(n int64) time.Time { return time.UnixMilli(1_700_000_000_000 + n) }

func storeAt[T any](t *testing.T, r *rechist.Repo[T], name string, v T, at time.Time) {
	t.Helper()
	if err := r.StoreAt(context.Background(), name, v, at); err != nil {
		t.Fatalf("StoreAt(%q): %v", name, err)
	}
}

// summary renders records as "name@ms=value" for compact comparisons.
func summary[T any](recs []rechist.Record[T]) string {
	s := make([]string, len(recs))
	for i, r := range recs {
		s[i] = fmt.Sprintf("%s@%d=%v", r.Name, r.StoredAt.UnixMilli()-1_700_000_000_000, r.Value)
	}
	return strings.Join(s, " ")
}

func names[T any](recs []rechist.Record[T]) string {
	s := make([]string, len(recs))
	for i, r := range recs {
		s[i] = r.Name
	}
	return strings.Join(s, " ")
}
