// Package testutil holds the helpers that rechist's test packages share:
// value types, a fixed time base, compact renderings of results, a DB on a
// temporary file ([OpenDB]), SQLite's integrity check ([IntegrityCheck]),
// the Rust crate's schema ([RustSchema]), a reference implementation of the
// pattern language ([ReferenceMatch]) and a bounded wait ([WaitFor]). It is
// imported only by tests and by the conformance suite.
//
// It depends on rechist and on the SQLite driver (modernc.org/sqlite, for
// the integrity check), never on the PostgreSQL driver.
package testutil

import (
	"context"
	"fmt"
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

// Base is the time MS counts from, so tests state times as small numbers.
const Base = 1_700_000_000_000

// MS is Base plus n milliseconds.
func MS(n int64) time.Time { return time.UnixMilli(Base + n) }

// StoreAt stores v and fails the test if that fails.
func StoreAt[T any](t testing.TB, r *rechist.Repo[T], name string, v T, at time.Time) {
	t.Helper()
	if err := r.StoreAt(context.Background(), name, v, at); err != nil {
		t.Fatalf("StoreAt(%q): %v", name, err)
	}
}

// Summary renders records as "name@ms=value" (ms counted from Base) for
// compact comparisons.
func Summary[T any](recs []rechist.Record[T]) string {
	s := make([]string, len(recs))
	for i, r := range recs {
		s[i] = fmt.Sprintf("%s@%d=%v", r.Name, r.StoredAt.UnixMilli()-Base, r.Value)
	}
	return strings.Join(s, " ")
}

// Names lists the records' names, space-separated.
func Names[T any](recs []rechist.Record[T]) string {
	s := make([]string, len(recs))
	for i, r := range recs {
		s[i] = r.Name
	}
	return strings.Join(s, " ")
}
