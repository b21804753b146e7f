package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

// holdWrites is the PostgreSQL harness's HoldWrites: another connection
// locks record_history IN EXCLUSIVE MODE (reads go on, writes wait) until
// release; waiting asks pg_locks whether a transaction waits for it.
func holdWrites(t *testing.T, dsn string) (waiting func() bool, release func()) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	release = sync.OnceFunc(func() { _ = c.Close(ctx) }) // ends the transaction
	t.Cleanup(release)
	if _, err := c.Exec(ctx, "BEGIN; LOCK TABLE record_history IN EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	watcher, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = watcher.Close(ctx) })
	var mu sync.Mutex // a pgx connection serves one query at a time
	waiting = func() bool {
		mu.Lock()
		defer mu.Unlock()
		var n int
		err := watcher.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'record_history'::regclass`).Scan(&n)
		if err != nil {
			t.Error(err)
			return false
		}
		return n > 0
	}
	return waiting, release
}
