package rechisttest

// The rows of one batch in the order their requests were queued.

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// Requests queued while the writer waits for a lock form its next batch:
// single stores, StoreManys large enough for the PostgreSQL engine's COPY
// and small ones, and a Delete, all at one millisecond, called one after
// the other (each call starts once the one before is queued). Their rows
// get ids in call order, so Changes lists them so and, among equal times,
// the later store comes first; the Delete removes the row queued before it
// and not the one queued after it: as if each request had committed alone.
// Before, the PostgreSQL engine inserted the small requests' rows last,
// after the COPYs and the DELETE.
func testBatchInQueueOrder(t *testing.T, h Harness) {
	if h.HoldWrites == nil {
		t.Skip("the harness cannot hold writes (Harness.HoldWrites)")
	}
	db, dsn := h.openDB(t, h.Fast...)
	r := rechist.NewRepo[int](db)
	ctx, cancel := context.WithTimeout(t.Context(), workTimeout)
	defer cancel()
	at := ms(7)
	storeAt(t, r, "gone", 0, at) // Delete deletes only records it finds
	from, err := db.LastID(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The writer goroutine takes a cleanup (never committed directly by
	// its caller) and waits in its transaction: what comes next queues.
	waiting, release := h.HoldWrites(t, dsn)
	defer release()
	tries := db.Stats().Batches
	cleaned := make(chan error, 1)
	go func() {
		_, err := db.Cleanup(ctx, ms(1))
		cleaned <- err
	}()
	waitFor(t, "the writer to wait for the held lock", func() bool {
		return db.Stats().Batches > tries || (waiting != nil && waiting())
	})

	seq, keptGone := 0, 0
	var want []int // values in id order
	one := func(name string, kept bool) (string, int) {
		seq++
		if kept {
			want = append(want, seq)
			if name == "gone" {
				keptGone = seq
			}
		}
		return name, seq
	}
	many := func(n int) []rechist.Record[int] {
		recs := make([]rechist.Record[int], n)
		for i := range recs {
			name, v := one("t", true)
			recs[i] = rechist.Record[int]{Name: name, Value: v, StoredAt: at}
		}
		return recs
	}
	store := func(name string, kept bool) func() error {
		name, v := one(name, kept)
		return func() error { return r.StoreAt(ctx, name, v, at) }
	}
	storeMany := func(n int) func() error {
		recs := many(n)
		return func() error { return r.StoreMany(ctx, recs) }
	}
	calls := []struct {
		what string
		call func() error
	}{
		{"Store", store("t", true)},
		{"StoreMany of 1200", storeMany(1200)},
		{"Store of gone", store("gone", false)},
		{"StoreMany of 3", storeMany(3)},
		{"Delete of gone", func() error { _, err := db.Delete(ctx, "gone", rechist.QueryParams{}); return err }},
		{"Store of gone after the Delete", store("gone", true)},
		{"Store", store("t", true)},
		{"StoreMany of 1000", storeMany(1000)},
		{"Store", store("t", true)},
	}
	done := make(chan error, len(calls))
	for i, c := range calls {
		go func() {
			if err := c.call(); err != nil {
				done <- fmt.Errorf("%s: %w", c.what, err)
				return
			}
			done <- nil
		}()
		waitFor(t, fmt.Sprintf("call %d (%s) to queue", i, c.what), func() bool { return db.Stats().QueueDepth > i || len(done) > 0 })
		if len(done) > 0 {
			t.Fatalf("a call returned while the writer waited: %v", <-done)
		}
		if d := db.Stats().QueueDepth; d != i+1 {
			t.Fatalf("after call %d (%s), %d requests queued, want %d", i, c.what, d, i+1)
		}
	}
	release()
	if err := awaitErr(t, "the cleanup", cleaned); err != nil {
		t.Fatal(err)
	}
	for range calls {
		if err := awaitErr(t, "a queued call", done); err != nil {
			t.Fatal(err)
		}
	}

	changes, _ := follow(t, db, "*", from, 1000)
	var got []int
	for _, c := range changes {
		var v int
		if _, err := fmt.Sscan(string(c.Value), &v); err != nil {
			t.Fatalf("change %d: value %s", c.ID, c.Value)
		}
		got = append(got, v)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Changes lists the values %s\nwant them in call order (the row of call 2 deleted by call 4)\n %s", brief(got), brief(want))
	}
	gone, err := r.Query(ctx, "gone", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(gone) != 1 || gone[0].Value != keptGone {
		t.Fatalf("gone holds %s; want only the row stored after the Delete (value %d)", summary(gone), keptGone)
	}
	latest, err := r.QueryLatest(ctx, "t", 3)
	if err != nil {
		t.Fatal(err)
	}
	var vs []int
	for _, rec := range latest {
		vs = append(vs, rec.Value)
	}
	if !slices.Equal(vs, []int{seq, seq - 1, seq - 2}) {
		t.Fatalf("the 3 latest of t, all at one millisecond, are %v; want %v (the later store first)", vs, []int{seq, seq - 1, seq - 2})
	}
}

// brief shows ints as runs: "1-1201 1203-1206".
func brief(vs []int) string {
	s := ""
	for i := 0; i < len(vs); {
		j := i
		for j+1 < len(vs) && vs[j+1] == vs[j]+1 {
			j++
		}
		if j > i {
			s += fmt.Sprintf("%d-%d ", vs[i], vs[j])
		} else {
			s += fmt.Sprintf("%d ", vs[i])
		}
		i = j + 1
	}
	return s
}

// awaitErr returns what ch delivers, failing the test if nothing comes
// within eventTimeout.
func awaitErr(t *testing.T, what string, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(eventTimeout):
		t.Fatalf("%s: no answer within %v", what, eventTimeout)
		return nil
	}
}
