package rechist_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil"
)

// Reads use their own connections: a query answers from the last commit
// while another process holds the write lock and the writer is stuck
// waiting for it.
func TestReadsDoNotWaitForTheWriter(t *testing.T) {
	db, path := testutil.OpenDB(t, "", rechist.WithBusyTimeout(time.Minute))
	r := rechist.NewRepo[int](db)
	ctx := t.Context()
	testutil.StoreAt(t, r, "x", 1, testutil.MS(1))

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
	go func() { stored <- r.StoreAt(context.Background(), "x", 2, testutil.MS(2)) }()

	got, err := r.Query(ctx, "x", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	if testutil.Summary(got) != "x@1=1" {
		t.Fatalf("while the writer waits, query saw %s, want x@1=1", testutil.Summary(got))
	}
	select {
	case err := <-stored:
		t.Fatalf("Store returned %v while another process held the write lock", err)
	default:
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-stored:
		if err != nil {
			t.Fatalf("Store after the lock was released: %v", err)
		}
	case <-time.After(testutil.WaitLimit):
		t.Fatalf("Store did not return within %v of the lock's release", testutil.WaitLimit)
	}
	got, err = r.Query(ctx, "x", rechist.QueryParams{})
	if err != nil || len(got) != 3 {
		t.Fatalf("after commit: %s, %v", testutil.Summary(got), err)
	}
}
