package rechisttest

// Cleanup and the retention cleanup that WithRetention runs.

import (
	"fmt"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

func testCleanupDeletesOlderRows(t *testing.T, h Harness) {
	db, _ := h.openDB(t, rechist.WithCleanupChunk(7)) // small chunks: many transactions
	r := rechist.NewRepo[int](db)
	rows := make([]rechist.Record[int], 100)
	for i := range rows {
		rows[i] = rechist.Record[int]{Name: []string{"a", "b", "c"}[i%3], Value: i, StoredAt: ms(int64(i))}
	}
	if err := r.StoreMany(t.Context(), rows); err != nil {
		t.Fatal(err)
	}
	n, err := db.Cleanup(t.Context(), ms(40)) // strictly before 40: 0..39
	if err != nil {
		t.Fatal(err)
	}
	if n != 40 {
		t.Fatalf("Cleanup deleted %d rows, want 40", n)
	}
	left, err := r.Query(t.Context(), "*", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 60 {
		t.Fatalf("%d rows left, want 60", len(left))
	}
	for _, rec := range left {
		if rec.StoredAt.Before(ms(40)) {
			t.Errorf("row at %v survived the cleanup", rec.StoredAt)
		}
	}
	if n, err := db.Cleanup(t.Context(), ms(40)); n != 0 || err != nil {
		t.Fatalf("second Cleanup = %d, %v; want 0, nil", n, err)
	}
	if st := db.Stats(); st.RowsDeleted != 40 || st.Cleanups != 2 {
		t.Errorf("stats: deleted %d, cleanups %d; want 40, 2", st.RowsDeleted, st.Cleanups)
	}
}

func testRetentionRunsAtOpen(t *testing.T, h Harness) {
	path := h.NewDSN(t)
	ctx := t.Context()
	db, err := open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	r := rechist.NewRepo[string](db)
	old := time.Now().Add(-48 * time.Hour)
	storeAt(t, r, "s", "old", old)
	storeAt(t, r, "s", "older", old.Add(-time.Hour))
	storeAt(t, r, "s", "new", time.Now())
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = open(ctx, path, rechist.WithRetention(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The first cleanup runs in the background right after Open; wait for it
	// to be counted (an event, not a time).
	waitFor(t, "the retention cleanup after Open", func() bool { return db.Stats().Cleanups > 0 })
	got, err := rechist.NewRepo[string](db).Query(ctx, "s", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Value != "new" {
		t.Fatalf("after retention: %v, want only the new row", got)
	}
	if st := db.Stats(); st.RowsDeleted != 2 {
		t.Errorf("RowsDeleted = %d, want 2", st.RowsDeleted)
	}
}

// Two handles on one database clean up at once. Each Cleanup returns only
// when no row before the cutoff is left, whatever the other deleted
// meanwhile; together they delete every old row once. (On PostgreSQL a
// chunk that finds part of its rows deleted by the other cleanup deletes
// fewer than asked; taking that short chunk for the last one left tens of
// thousands of rows behind.)
func testConcurrentCleanupsLeaveNothingBehind(t *testing.T, h Harness) {
	dsn := h.NewDSN(t)
	ctx := t.Context()
	var dbs [2]*rechist.DB
	for i := range dbs {
		db, err := open(ctx, dsn, rechist.WithCleanupChunk(64))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs[i] = db
	}
	r := rechist.NewRepo[int](dbs[0])
	const old = 8000
	for round := range 2 {
		recs := make([]rechist.Record[int], 0, old+10)
		for i := range old {
			recs = append(recs, rechist.Record[int]{Name: fmt.Sprintf("r%02d", i%50), Value: i, StoredAt: ms(int64(i % 1000))})
		}
		for i := range 10 {
			recs = append(recs, rechist.Record[int]{Name: "new", Value: i, StoredAt: ms(5000)})
		}
		if err := r.StoreMany(ctx, recs); err != nil {
			t.Fatal(err)
		}
		type result struct {
			n    int64
			err  error
			left int
		}
		results := make(chan result, 2)
		for _, db := range dbs {
			go func() {
				n, err := db.Cleanup(ctx, ms(1000))
				res := result{n: n, err: err}
				if err == nil {
					// What this cleanup left behind, seen at once.
					got, qerr := rechist.NewRepo[int](db).Query(ctx, "*", rechist.QueryParams{End: ms(999)})
					res.left, res.err = len(got), qerr
				}
				results <- res
			}()
		}
		var deleted int64
		for range 2 {
			var res result
			select {
			case res = <-results:
			case <-time.After(workTimeout):
				t.Fatal("a cleanup did not return")
			}
			if res.err != nil {
				t.Fatal(res.err)
			}
			if res.left != 0 {
				t.Fatalf("round %d: a Cleanup returned with %d rows before its cutoff left", round, res.left)
			}
			deleted += res.n
		}
		if deleted != old {
			t.Fatalf("round %d: the two cleanups deleted %d rows, want %d", round, deleted, old)
		}
	}
	got, err := r.Query(ctx, "*", rechist.QueryParams{})
	if err != nil || len(got) != 20 {
		t.Fatalf("after the cleanups: %d rows, %v; want the 20 new ones", len(got), err)
	}
}
