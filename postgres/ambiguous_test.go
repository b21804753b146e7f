package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/postgres"
)

// countValues returns how many rows hold each value of name.
func countValues(t *testing.T, dsn, name string) map[int]int {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	rows, err := c.Query(context.Background(), `SELECT value_json::int FROM record_history WHERE record_name = $1`, name)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int]int{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		counts[v]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return counts
}

// The connection is lost after COMMIT reached the server and before its
// answer came back. Before, the writer took the failure for a failed batch
// and retried each request alone: six concurrent Stores were stored twice
// and returned nil; a lone Store and a 2000-row StoreMany (COPY) returned
// "conn closed" though stored, inviting a retry into duplicates. Now the
// engine asks the server what became of the transaction: every call
// returns nil and every value is stored once.
func TestLostCommitThatHappenedIsReportedAsStored(t *testing.T) {
	dsn, proxy, db := openViaProxy(t)
	r := rechist.NewRepo[int](db)
	ctx := context.Background()

	// Six concurrent stores in one batch: hold the table so that a first
	// store (committed directly by its caller, who stores alone) blocks
	// while six more queue behind it; the writer goroutine takes one of
	// them and waits for the first commit, five stay queued, and all six
	// form its next batch.
	release := holdTableLock(t, dsn)
	first := make(chan error, 1)
	go func() { first <- r.Store(ctx, "warmup", 0) }()
	waitUntil(t, "the first store to be under way", func() bool { return db.Stats().QueueDepth == 0 && db.Stats().Requests == 1 })
	done := make(chan error, 6)
	for i := range 6 {
		go func() { done <- r.Store(ctx, "batch", i) }()
	}
	waitUntil(t, "six stores to queue", func() bool { st := db.Stats(); return st.Requests == 7 && st.QueueDepth == 5 })
	// Let the first batch's commit through and lose the next one's: the
	// six were queued while the first waited, so they form it.
	proxy.armAfter("after", 1)
	release()
	if err := await(t, "the first store", first); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		if err := await(t, "a batched store", done); err != nil {
			t.Fatalf("a store whose commit happened: %v, want nil", err)
		}
	}
	if proxy.droppedCommits() != 1 {
		t.Fatalf("%d commits lost, want 1 (the six were not one batch?)", proxy.droppedCommits())
	}
	for v, n := range countValues(t, dsn, "batch") {
		if n != 1 {
			t.Errorf("value %d stored %d times", v, n)
		}
	}
	if got := len(countValues(t, dsn, "batch")); got != 6 {
		t.Fatalf("%d of 6 values stored", got)
	}

	proxy.arm("after")
	if err := r.Store(ctx, "lone", 1); err != nil {
		t.Fatalf("a lone store whose commit happened: %v, want nil", err)
	}
	if got := countValues(t, dsn, "lone"); got[1] != 1 {
		t.Fatalf("lone store: %v", got)
	}

	recs := make([]rechist.Record[int], 2000)
	for i := range recs {
		recs[i] = rechist.Record[int]{Name: "many", Value: i}
	}
	proxy.arm("after")
	if err := r.StoreMany(ctx, recs); err != nil {
		t.Fatalf("a StoreMany (COPY) whose commit happened: %v, want nil", err)
	}
	got := countValues(t, dsn, "many")
	for i := range recs {
		if got[i] != 1 {
			t.Fatalf("value %d stored %d times", i, got[i])
		}
	}
	if proxy.droppedCommits() != 3 {
		t.Fatalf("%d commits lost, want 3", proxy.droppedCommits())
	}
}

// The connection is lost before COMMIT reached the server: the server
// rolls back, the engine learns it, and the call returns an error that is
// not ErrOutcomeUnknown, with nothing stored.
func TestLostCommitThatDidNotHappenIsAnError(t *testing.T) {
	dsn, proxy, db := openViaProxy(t)
	proxy.arm("before")
	err := rechist.NewRepo[int](db).Store(context.Background(), "x", 1)
	if err == nil || errors.Is(err, rechist.ErrOutcomeUnknown) {
		t.Fatalf("got %v, want a plain error (the server rolled back)", err)
	}
	if got := countValues(t, dsn, "x"); len(got) != 0 {
		t.Fatalf("stored %v, want nothing", got)
	}
}

// When the outcome cannot be learned (the server cannot be reached), the
// call says so with ErrOutcomeUnknown instead of guessing.
func TestLostCommitWithUnreachableServerIsOutcomeUnknown(t *testing.T) {
	defer postgres.SetOutcomeWait(500 * time.Millisecond)()
	dsn, proxy, db := openViaProxy(t)
	proxy.arm("after")
	go func() {
		// Refuse new connections from the moment the commit is lost.
		for proxy.droppedCommits() == 0 {
			time.Sleep(time.Millisecond)
		}
		proxy.refuse(true)
	}()
	err := rechist.NewRepo[int](db).Store(context.Background(), "x", 1)
	proxy.refuse(false)
	if !errors.Is(err, rechist.ErrOutcomeUnknown) {
		t.Fatalf("got %v, want ErrOutcomeUnknown", err)
	}
	t.Logf("%v", err)
	if got := countValues(t, dsn, "x"); got[1] != 1 {
		t.Fatalf("the commit happened, so the row is there once: %v", fmt.Sprint(got))
	}
}

// waitUntil polls cond, failing the test after a bounded time.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// openViaProxy opens a DB on a new schema through a commitProxy, closed
// when the test ends; it returns the schema's direct URL too.
func openViaProxy(t *testing.T) (string, *commitProxy, *rechist.DB) {
	t.Helper()
	dsn := newSchema(t)
	proxy, viaProxy := startCommitProxy(t, dsn)
	db, err := rechist.Open(context.Background(), viaProxy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return dsn, proxy, db
}
