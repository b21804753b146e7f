package rechisthttp

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil/pgtest"
	_ "github.com/seed178a96f3/rechist/postgres"
)

// TestOnPostgreSQL: the API on the PostgreSQL engine. /api/query answers
// as the reference does, and a stream sees every row that another handle
// on the schema (a process of its own, as far as the server can tell)
// stores, once, in commit order.
func TestOnPostgreSQL(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewSchema(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	db, err := rechist.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range 30 {
		store(t, db, fmt.Sprintf("pg::%d", i%3), int64(1000+i/2), fmt.Sprintf(`{"v":%d}`, i))
	}
	h := NewHandler(db, WithPollInterval(10*time.Millisecond))
	for _, target := range []string{"/api/query?pattern=pg::*&limit=0", "/api/query?pattern=pg::*&limit=2&start=1003"} {
		got := decodeQuery(t, do(t, h, "GET", target, nil))
		var want []row
		if target == "/api/query?pattern=pg::*&limit=0" {
			want = reference(t, db, "pg::*", 0, time.Time{}, time.Time{})
		} else {
			want = reference(t, db, "pg::*", 2, time.UnixMilli(1003), time.Time{})
		}
		if fmt.Sprint(got.Records) != fmt.Sprint(want) {
			t.Fatalf("%s:\n got %v\nwant %v", target, got.Records, want)
		}
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.CloseStreams() // before Close, which waits for the stream
	events, _ := subscribe(t, ctx, srv.URL+"/api/stream?pattern=live::*")
	other, err := rechist.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	const n = 200
	done := make(chan error, 1)
	go func() {
		r := rechist.NewRepo[int](other)
		for i := range n {
			if err := r.Store(ctx, fmt.Sprintf("live::%d", i%4), i); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	last := int64(0)
	for i := range n {
		id, r := next(t, ctx, events)
		if id <= last || string(r.Payload) != fmt.Sprint(i) {
			t.Fatalf("event %d: id %d (after %d), payload %s", i, id, last, r.Payload)
		}
		last = id
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
