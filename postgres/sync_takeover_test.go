package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed178a96f3/rechist"
)

// A takeover (a new identity continuing its old identity's history) whose
// transaction meets another connection that moves the old identity's
// cursor and has not committed yet: the takeover waits for the old
// cursor's row (its lock) and, once the other commits, finds the cursor
// moved and is refused, nothing written. Without the lock it read the
// cursor as it stood before the other's commit, took over from there,
// and both committed: the rows after the point under two identities.
func TestSyncTakeoverWaitsForTheOldCursor(t *testing.T) {
	ctx := t.Context()
	dsn := newSchema(t)
	src, err := rechist.Open(ctx, filepath.Join(t.TempDir(), "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	store := func(from, to int) {
		for i := from; i <= to; i++ {
			if err := rechist.NewRepo[json.RawMessage](src).StoreAt(ctx, "s", json.RawMessage(fmt.Sprint(i)), time.UnixMilli(int64(1000+i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	dst, err := rechist.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	store(1, 10)
	first, err := rechist.Sync(ctx, src, dst)
	if err != nil || first.Copied != 10 {
		t.Fatalf("the first push: %+v, %v", first, err)
	}
	renewed, err := src.NewSourceID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	store(11, 20)

	other, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(context.Background())
	var pid int
	if err := other.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // a no-op after Commit
	// A push under the old identity, as far as its cursor goes: the row
	// locked and moved from 10 to 11.
	if _, err := tx.Exec(ctx, `UPDATE rechist_sync_cursor SET last_id = 11, last_hash = 'h', rows_sent = rows_sent + 1 WHERE source_id = $1`, first.Source); err != nil {
		t.Fatal(err)
	}
	type result struct {
		res rechist.SyncResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := rechist.Sync(ctx, src, dst)
		done <- result{r, err}
	}()
	var got result
	finished := false
	waiting := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !finished && !waiting; {
		select {
		case got = <-done:
			finished = true
		case <-time.After(20 * time.Millisecond):
			var n int
			c, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			err = c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))`, pid).Scan(&n)
			c.Close(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			waiting = n > 0
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if !finished {
		got = <-done
	}
	if !errors.Is(got.err, rechist.ErrConflict) || got.res.Copied != 0 {
		t.Fatalf("the takeover: %+v, %v; want ErrConflict (the old cursor moved), nothing copied (it waited for the old cursor: %v)", got.res, got.err, waiting)
	}
	if st, err := dst.SyncStatus(ctx, renewed); err != nil || st.Cursor != 0 {
		t.Fatalf("the new identity's status: %+v, %v; want no cursor", st, err)
	}
	if st, err := dst.SyncStatus(ctx, first.Source); err != nil || st.Cursor != 11 || st.ContinuedBy != "" {
		t.Fatalf("the old identity's status: %+v, %v; want at 11, not continued", st, err)
	}
	n := 0
	for _, err := range rechist.NewRepo[json.RawMessage](dst).All(ctx, "*", rechist.QueryParams{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 10 {
		t.Fatalf("the destination holds %d rows, want 10", n)
	}
}
