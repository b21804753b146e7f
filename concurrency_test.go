package rechist_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

func TestConcurrentStoresAllPresentExactlyOnce(t *testing.T) {
	db, _ := openDB(t, rechist.WithSynchronous(rechist.SyncNormal))
	r := rechist.NewRepo[int](db)
	const goroutines, each = 64, 500
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				if err := r.Store(context.Background(), fmt.Sprintf("g::%02d", g%8), g*each+i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
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

// Close commits every write it accepted: after Close, the file holds exactly
// the values whose Store returned nil, and every other Store got ErrClosed.
func TestCloseFlushesEverythingAccepted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	db, err := rechist.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	r := rechist.NewRepo[int](db)
	const goroutines = 16
	acked := make([][]int, goroutines)
	var wg sync.WaitGroup
	started := make(chan struct{}, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := 0; ; i++ {
				v := g*1_000_000 + i
				err := r.Store(context.Background(), "c", v)
				if i == 10 {
					started <- struct{}{}
				}
				if errors.Is(err, rechist.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Store: %v", err)
					return
				}
				acked[g] = append(acked[g], v)
			}
		})
	}
	for range goroutines {
		<-started // every writer is well under way
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	db, err = rechist.Open(t.Context(), path)
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

// Reads use their own connections: a query answers from the last commit
// while another process holds the write lock and the writer is stuck
// waiting for it.
func TestReadsDoNotWaitForTheWriter(t *testing.T) {
	db, path := openDB(t, rechist.WithBusyTimeout(time.Minute))
	r := rechist.NewRepo[int](db)
	ctx := t.Context()
	storeAt(t, r, "x", 1, ms(1))

	other, err := sql.Open("sqlite", path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(ctx, nil) // holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO record_history (record_name, value_json, stored_at) VALUES ('x', '99', 5)`); err != nil {
		t.Fatal(err)
	}
	stored := make(chan error, 1)
	go func() { stored <- r.StoreAt(context.Background(), "x", 2, ms(2)) }()

	got, err := r.Query(ctx, "x", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	if summary(got) != "x@1=1" {
		t.Fatalf("while the writer waits, query saw %s, want x@1=1", summary(got))
	}
	select {
	case err := <-stored:
		t.Fatalf("Store returned %v while another process held the write lock", err)
	default:
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-stored; err != nil {
		t.Fatalf("Store after the lock was released: %v", err)
	}
	got, err = r.Query(ctx, "x", rechist.QueryParams{})
	if err != nil || len(got) != 3 {
		t.Fatalf("after commit: %s, %v", summary(got), err)
	}
}
