package rechist_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

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
