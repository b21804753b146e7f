package rechist_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
)

// holdSQLiteWrites is the SQLite harness's HoldWrites: another connection
// takes the file's write lock (BEGIN IMMEDIATE) until release. The writer
// does not wait inside SQLite but tries again (each try a batch in
// Stats().Batches), so waiting is nil.
func holdSQLiteWrites(t *testing.T, path string) (waiting func() bool, release func()) {
	t.Helper()
	ctx := context.Background()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := raw.Conn(ctx)
	if err != nil {
		raw.Close()
		t.Fatal(err)
	}
	release = sync.OnceFunc(func() {
		_, _ = conn.ExecContext(ctx, "ROLLBACK")
		_ = conn.Close()
		_ = raw.Close()
	})
	t.Cleanup(release)
	// The writer may hold the lock for a moment (a commit): wait for it.
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 30000"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	return nil, release
}
