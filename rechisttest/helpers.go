package rechisttest

import (
	"context"
	"sync"
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

// open is rechist.Open given at most eventTimeout, so that a hung Open
// cannot hold up the other cases for good. (Cases open their databases at
// the same time: an engine must not make Opens of separate databases wait
// for each other.)
func open(ctx context.Context, dsn string, opts ...rechist.Option) (*rechist.DB, error) {
	ctx, cancel := context.WithTimeout(ctx, eventTimeout)
	defer cancel()
	return rechist.Open(ctx, dsn, opts...)
}

// openDB opens a new database for the test and closes it at the end.
func (h Harness) openDB(t *testing.T, opts ...rechist.Option) (*rechist.DB, string) {
	t.Helper()
	dsn := h.NewDSN(t)
	db, err := open(context.Background(), dsn, opts...)
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

// No wait in the suite ends only by go test's -timeout: what has not
// happened by its deadline is taken as never happening, and fails the test.
const (
	// eventTimeout bounds waits for something that takes milliseconds: a
	// background cleanup to run, writers to get under way or to return.
	eventTimeout = 30 * time.Second
	// workTimeout bounds the concurrency case's many stores, which take
	// seconds under the race detector on a small machine.
	workTimeout = 2 * time.Minute
)

// waitFor polls cond until it holds, and fails the test if it does not
// hold within eventTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(eventTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, eventTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitGroup waits for wg's goroutines to return, and fails the test if they
// have not all returned within d. Goroutines still running after such a
// failure must not touch t: they report through channels.
func waitGroup(t *testing.T, what string, wg *sync.WaitGroup, d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("%s: still running after %v", what, d)
	}
}
