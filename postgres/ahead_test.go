package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/postgres"
)

// withAppName names the connections of dsn, so that a test finds its
// handle's sessions among those of tests running beside it.
func withAppName(t *testing.T, dsn string) (string, string) {
	t.Helper()
	app := fmt.Sprintf("rechist_ahead_%d_%d", os.Getpid(), time.Now().UnixNano())
	return dsn + "&application_name=" + app, app
}

// idleInTransaction returns the pids of app's sessions idle in a
// transaction: the writer's transaction open ahead.
func idleInTransaction(t *testing.T, dsn, app string) []int32 {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle in transaction'`, app)
	if err != nil {
		t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

// storing opens a handle on dsn, closed when the test ends, and stores 0
// and 1 as name: the first batch of a handle begins its sync epoch
// (statement by statement), the second leaves a transaction open ahead.
func storing(t *testing.T, dsn, name string, opts ...rechist.Option) *rechist.Repo[int] {
	t.Helper()
	ctx := context.Background()
	db, err := rechist.Open(ctx, dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := rechist.NewRepo[int](db)
	for i := range 2 {
		if err := r.Store(ctx, name, i); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// A Store commits in one round trip on a transaction the last one opened
// ahead; when that transaction's connection is closed while it waits (a
// server restart, a network failure, an administrator), the next Store
// learns that nothing of it was written and stores on a new connection:
// nil, stored once. Before the retry, that Store failed.
func TestStoreAfterTheTransactionOpenAheadWasKilled(t *testing.T) {
	defer postgres.SetAheadIdle(time.Minute)()
	dsn, app := withAppName(t, newSchema(t))
	ctx := context.Background()
	r := storing(t, dsn, "x")
	pids := idleInTransaction(t, dsn, app)
	if len(pids) != 1 {
		t.Fatalf("%d sessions idle in a transaction after a Store, want 1 (the one open ahead)", len(pids))
	}
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `SELECT pg_terminate_backend($1)`, pids[0]); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the killed session to end", func() bool {
		var n int
		if err := c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, pids[0]).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
	if err := r.Store(ctx, "x", 2); err != nil {
		t.Fatalf("a Store after the transaction open ahead was killed: %v, want nil", err)
	}
	if got := countValues(t, dsn, "x"); len(got) != 3 || got[0] != 1 || got[1] != 1 || got[2] != 1 {
		t.Fatalf("stored %v, want 0, 1 and 2 once each", got)
	}
}

// A transaction open ahead and not used within the idle time is rolled
// back and its connection goes back to the pool: no session stays idle in
// a transaction (holding an id VACUUM must respect).
func TestTransactionOpenAheadEndsWhenIdle(t *testing.T) {
	defer postgres.SetAheadIdle(50 * time.Millisecond)()
	dsn, app := withAppName(t, newSchema(t))
	ctx := context.Background()
	db, err := rechist.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := rechist.NewRepo[int](db)
	for i := range 3 {
		if err := r.Store(ctx, "x", i); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "no session idle in a transaction", func() bool { return len(idleInTransaction(t, dsn, app)) == 0 })
	// And the next Store opens another.
	if err := r.Store(ctx, "x", 3); err != nil {
		t.Fatal(err)
	}
	if got := countValues(t, dsn, "x"); len(got) != 4 {
		t.Fatalf("stored %v, want 0 to 3", got)
	}
}

// The commit of a Store on a transaction open ahead is lost on the way:
// after it reached the server (learned: nil, stored once), and before (the
// server rolled back: tried once more on a new connection, nil, stored
// once).
func TestLostCommitOnTheTransactionOpenAhead(t *testing.T) {
	defer postgres.SetAheadIdle(time.Minute)()
	dsn, proxy, db := openViaProxy(t)
	r := rechist.NewRepo[int](db)
	ctx := context.Background()
	if err := r.Store(ctx, "x", 0); err != nil {
		t.Fatal(err)
	}
	for i, mode := range []string{"after", "before", "after"} {
		if err := r.Store(ctx, "x", 10+i); err != nil { // opens the next one ahead again
			t.Fatal(err)
		}
		proxy.arm(mode)
		if err := r.Store(ctx, "x", 20+i); err != nil {
			t.Fatalf("a Store whose commit was lost %s reaching the server: %v, want nil", mode, err)
		}
		if proxy.droppedCommits() != i+1 {
			t.Fatalf("%d commits lost, want %d", proxy.droppedCommits(), i+1)
		}
	}
	got := countValues(t, dsn, "x")
	for _, v := range []int{0, 10, 11, 12, 20, 21, 22} {
		if got[v] != 1 {
			t.Errorf("value %d stored %d times, want once", v, got[v])
		}
	}
	if len(got) != 7 {
		t.Errorf("stored %v", got)
	}
}

// The server refuses the INSERT sent on a transaction open ahead (here a
// CHECK constraint; in life a partition another process dropped): the
// Store fails, writes nothing and says nothing is unknown, and the
// connection is cleaned up for the next Store, which commits.
func TestRefusedInsertOnTheTransactionOpenAhead(t *testing.T) {
	defer postgres.SetAheadIdle(time.Minute)()
	dsn, app := withAppName(t, newSchema(t))
	ctx := context.Background()
	r := storing(t, dsn, "good")
	if n := len(idleInTransaction(t, dsn, app)); n != 1 {
		t.Fatalf("%d sessions idle in a transaction, want the one open ahead", n)
	}
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `ALTER TABLE record_history ADD CONSTRAINT test_no_bad CHECK (record_name <> 'bad')`); err != nil {
		t.Fatal(err)
	}
	err = r.Store(ctx, "bad", 1)
	if err == nil || errors.Is(err, rechist.ErrOutcomeUnknown) {
		t.Fatalf("a Store the server refuses: %v, want an error that is not ErrOutcomeUnknown", err)
	}
	for i := 2; i < 4; i++ {
		if err := r.Store(ctx, "good", i); err != nil {
			t.Fatalf("a Store after a refused one: %v", err)
		}
	}
	if got := countValues(t, dsn, "bad"); len(got) != 0 {
		t.Fatalf("the refused value is stored: %v", got)
	}
	if got := countValues(t, dsn, "good"); len(got) != 4 {
		t.Fatalf("stored %v, want 0 to 3", got)
	}
}

// The connection of a Store on a transaction open ahead is lost while the
// INSERT waits for a lock, its COMMIT not yet at the server. The session
// must not stay behind waiting (its COMMIT is not coming, but a session
// notices a closed connection only when it reads): pgx sends a cancel
// request when it loses a connection, and learnOutcomeOf terminates a
// session still running the transaction
// (TestLearnOutcomeEndsTheSessionStillRunningIt). The Store fails with
// nothing written, not ErrOutcomeUnknown, and no session of the handle
// waits for the lock any more.
func TestLostConnectionWhileTheInsertWaitsEndsItsSession(t *testing.T) {
	defer postgres.SetAheadIdle(time.Minute)()
	defer postgres.SetOutcomeWait(2 * time.Second)()
	dsn := newSchema(t)
	proxy, via := startCommitProxy(t, dsn)
	via, app := withAppName(t, via)
	ctx := context.Background()
	r := storing(t, via, "x", rechist.WithBatchTimeout(500*time.Millisecond))
	release := holdTableLock(t, dsn)
	proxy.arm("before")
	err := r.Store(ctx, "x", 2)
	if err == nil || errors.Is(err, rechist.ErrOutcomeUnknown) {
		t.Fatalf("a Store whose connection was lost while its INSERT waited: %v, want an error that is not ErrOutcomeUnknown", err)
	}
	if proxy.droppedCommits() != 1 {
		t.Fatalf("%d commits lost, want 1", proxy.droppedCommits())
	}
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	// The retry's own wait (on a new connection, past the deadline) ends
	// by pgx's cancel request, which is sent without waiting: wait for it.
	// Left alone, the lost session would wait as long as the lock is held.
	waitUntil(t, "no session of the handle waiting for the lock", func() bool {
		var waiting int
		if err := c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, app).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		return waiting == 0
	})
	release()
	if err := r.Store(ctx, "x", 3); err != nil {
		t.Fatal(err)
	}
	if got := countValues(t, dsn, "x"); len(got) != 3 || got[2] != 0 {
		t.Fatalf("stored %v, want 0, 1 and 3", got)
	}
}
