package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed178a96f3/rechist"
)

// holdTableLock takes an ACCESS EXCLUSIVE lock on record_history from
// another connection until the test ends (or release is called).
func holdTableLock(t *testing.T, dsn string) (release func()) {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := c.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(context.Background(), "LOCK TABLE record_history IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	done := false
	release = func() {
		if !done {
			done = true
			_ = tx.Rollback(context.Background())
			_ = c.Close(context.Background())
		}
	}
	t.Cleanup(release)
	return release
}

// await returns what ch delivers, failing the test if nothing comes in a
// bounded time.
func await(t *testing.T, what string, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not return within 30s", what)
		return nil
	}
}

// PostgreSQL has no busy timeout: before, a batch the writer had taken ran
// under context.Background(), so a lock held by another connection stalled
// the writer, its callers and Close for ever. Every batch now has a
// deadline (WithBatchTimeout).
func TestLockedTableIsBoundedByTheBatchTimeout(t *testing.T) {
	dsn := newSchema(t)
	db, err := rechist.Open(context.Background(), dsn, rechist.WithBatchTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	holdTableLock(t, dsn)
	stored := make(chan error, 1)
	go func() { stored <- rechist.NewRepo[int](db).Store(context.Background(), "x", 1) }()
	err = await(t, "Store on a locked table", stored)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "batch timeout") {
		t.Fatalf("Store on a locked table: %v, want the batch timeout's error", err)
	}
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	if err := await(t, "Close", closed); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// A lock_timeout set for the session (here in the URL) fails a try with
// PostgreSQL's 55P03; the writer tries again until the batch timeout, and
// then callers see ErrBusy.
func TestLockTimeoutIsErrBusy(t *testing.T) {
	dsn := newSchema(t)
	db, err := rechist.Open(context.Background(), dsn+"&options=-c%20lock_timeout%3D100", rechist.WithBatchTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	release := holdTableLock(t, dsn)
	stored := make(chan error, 1)
	go func() { stored <- rechist.NewRepo[int](db).Store(context.Background(), "x", 1) }()
	if err := await(t, "Store on a locked table", stored); !errors.Is(err, rechist.ErrBusy) {
		t.Fatalf("Store with lock_timeout on a locked table: %v, want ErrBusy", err)
	}
	release()
	if err := rechist.NewRepo[int](db).Store(context.Background(), "x", 2); err != nil {
		t.Fatalf("Store after the lock is gone: %v", err)
	}
}

// SQLite-only options are refused with a PostgreSQL URL, by name.
func TestSQLiteOnlyOptionIsRefused(t *testing.T) {
	dsn := newSchema(t)
	_, err := rechist.Open(context.Background(), dsn, rechist.WithSynchronous(rechist.SyncNormal))
	if !errors.Is(err, rechist.ErrInvalidArgument) || !strings.Contains(err.Error(), "WithSynchronous") {
		t.Fatalf("got %v, want ErrInvalidArgument naming WithSynchronous", err)
	}
}

// A documented difference (docs/postgres.md): on PostgreSQL, Aggregate
// casts every value of the record to json, so a value that is not JSON
// (only another program can write one) fails the aggregation; SQLite
// skips such a row.
func TestAggregateOverAValueThatIsNotJSONFails(t *testing.T) {
	dsn := newSchema(t)
	db, err := rechist.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := rechist.NewRepo[int](db).Store(context.Background(), "x", 1); err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(context.Background(), `INSERT INTO record_history (record_name, value_json, stored_at) VALUES ('x', 'not json', 1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Aggregate(context.Background(), "x", rechist.AggregateParams{Every: time.Hour}); err == nil {
		t.Fatal("Aggregate over a row that is not JSON: nil error; docs/postgres.md says it fails")
	}
	if _, err := db.Aggregate(context.Background(), "y*", rechist.AggregateParams{Every: time.Hour}); err != nil {
		t.Fatalf("Aggregate of other records: %v", err)
	}
}
