package rechisttest

// Open, Close and reopening.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

func testReopenKeepsData(t *testing.T, h Harness) {
	path := h.NewDSN(t)
	ctx := t.Context()
	for round := range 3 {
		db, err := open(ctx, path, h.Fast...)
		if err != nil {
			t.Fatal(err)
		}
		r := rechist.NewRepo[int](db)
		got, err := r.Query(ctx, "n", rechist.QueryParams{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != round {
			t.Fatalf("round %d: found %d rows, want %d", round, len(got), round)
		}
		if err := r.StoreAt(ctx, "n", round, ms(int64(round))); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func testClosedDB(t *testing.T, h Harness) {
	db, err := open(t.Context(), h.NewDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	r := rechist.NewRepo[int](db)
	storeAt(t, r, "x", 1, ms(1))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := context.Background()
	if err := r.Store(ctx, "x", 2); !errors.Is(err, rechist.ErrClosed) {
		t.Errorf("Store after Close: %v", err)
	}
	if err := r.StoreMany(ctx, []rechist.Record[int]{{Name: "x", Value: 3}}); !errors.Is(err, rechist.ErrClosed) {
		t.Errorf("StoreMany after Close: %v", err)
	}
	if _, err := r.QueryLatest(ctx, "x", 1); !errors.Is(err, rechist.ErrClosed) {
		t.Errorf("QueryLatest after Close: %v", err)
	}
	if _, err := db.Cleanup(ctx, ms(10)); !errors.Is(err, rechist.ErrClosed) {
		t.Errorf("Cleanup after Close: %v", err)
	}
}

// Close commits every write it accepted: after Close, the file holds exactly
// the values whose Store returned nil, and every other Store got ErrClosed.
func testCloseFlushesEverythingAccepted(t *testing.T, h Harness) {
	path := h.NewDSN(t)
	db, err := open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	// If the test ends before the Close below, this closes db (Close is
	// idempotent), which also ends the writers with ErrClosed.
	closeFirst := db.Close
	t.Cleanup(func() { _ = closeFirst() })
	r := rechist.NewRepo[int](db)
	// A Store that hangs gives up at the deadline.
	ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
	defer cancel()
	const goroutines = 16
	acked := make([][]int, goroutines)
	var wg sync.WaitGroup
	// The writers report on channels, not through t: one may still run after
	// a wait below has failed the test.
	started := make(chan struct{}, goroutines)
	failed := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			// A writer that returns before its tenth write (a Store failed)
			// still says so, or the wait for all of them would never end.
			signalled := false
			signal := func() {
				if !signalled {
					signalled = true
					started <- struct{}{}
				}
			}
			defer signal()
			for i := 0; ; i++ {
				v := g*1_000_000 + i
				err := r.Store(ctx, "c", v)
				if i == 10 {
					signal()
				}
				if errors.Is(err, rechist.ErrClosed) {
					return
				}
				if err != nil {
					failed <- fmt.Errorf("writer %d, Store %d: %w", g, i, err)
					return
				}
				acked[g] = append(acked[g], v)
			}
		})
	}
	under := time.NewTimer(eventTimeout)
	defer under.Stop()
	for n := range goroutines {
		select {
		case <-started: // every writer is well under way, or has failed
		case <-under.C:
			t.Fatalf("%d of %d writers under way after %v", n, goroutines, eventTimeout)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	waitGroup(t, "writers after Close", &wg, eventTimeout)
	close(failed)
	for err := range failed {
		t.Errorf("Store: %v", err)
	}

	db, err = open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := rechist.Query[int](t.Context(), db, "c", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]bool{}
	for _, vs := range acked {
		for _, v := range vs {
			want[v] = true
		}
	}
	if len(got) != len(want) {
		t.Fatalf("file holds %d rows, %d stores were acknowledged", len(got), len(want))
	}
	for _, rec := range got {
		if !want[rec.Value] {
			t.Fatalf("value %d in the file was not acknowledged, or is there twice", rec.Value)
		}
		delete(want, rec.Value)
	}
	t.Logf("%d acknowledged stores, all present once after Close", len(got))
}
