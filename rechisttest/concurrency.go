package rechisttest

// Many goroutines storing at once.

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/seed178a96f3/rechist"
)

func testConcurrentStoresAllPresentExactlyOnce(t *testing.T, h Harness) {
	db, _ := h.openDB(t, h.Fast...)
	r := rechist.NewRepo[int](db)
	const goroutines, each = 64, 500
	// A Store that hangs gives up at the deadline, and so does the wait.
	ctx, cancel := context.WithTimeout(context.Background(), workTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, goroutines) // each goroutine sends at most once
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				if err := r.Store(ctx, fmt.Sprintf("g::%02d", g%8), g*each+i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	waitGroup(t, "the storing goroutines", &wg, workTimeout)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := r.Query(t.Context(), "g::*", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[int]int, goroutines*each)
	for _, rec := range got {
		if want := fmt.Sprintf("g::%02d", rec.Value/each%8); rec.Name != want {
			t.Fatalf("value %d stored under %s, want %s", rec.Value, rec.Name, want)
		}
		seen[rec.Value]++
	}
	for v := range goroutines * each {
		if seen[v] != 1 {
			t.Fatalf("value %d present %d times", v, seen[v])
		}
	}
	st := db.Stats()
	if st.RowsWritten != goroutines*each || st.Requests != goroutines*each {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("%d rows in %d batches (mean %.1f rows a commit)", st.RowsWritten, st.Batches, float64(st.RowsWritten)/float64(st.Batches))
}
