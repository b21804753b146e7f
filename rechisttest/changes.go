package rechisttest

// Reading rows in commit order (Changes, LastID): what live streams and
// sync are built on.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/seed178a96f3/rechist"
)

// follow reads every change after from with pages of limit rows, and
// returns them with where it stands.
func follow(t *testing.T, db *rechist.DB, pattern string, from int64, limit int) ([]rechist.Change, int64) {
	t.Helper()
	var out []rechist.Change
	next := from
	for {
		got, n, err := db.Changes(t.Context(), pattern, next, limit)
		if err != nil {
			t.Fatalf("Changes(%q, %d, %d): %v", pattern, next, limit, err)
		}
		if n < next {
			t.Fatalf("Changes(%q, %d): next %d went back", pattern, next, n)
		}
		out = append(out, got...)
		if n == next {
			return out, next
		}
		next = n
	}
}

func changeNames(cs []rechist.Change) string {
	s := ""
	for _, c := range cs {
		s += fmt.Sprintf("%s=%s@%d ", c.Name, c.Value, c.StoredAt.UnixMilli())
	}
	return s
}

// Changes returns rows in commit order with their values byte for byte,
// filters by pattern, pages by limit, and never hands out a deleted row's
// id again.
func testChangesInCommitOrder(t *testing.T, h Harness) {
	db, _ := h.openDB(t, h.Fast...)
	ctx := t.Context()
	if last, err := db.LastID(ctx); err != nil || last != 0 {
		t.Fatalf("LastID of an empty database = %d, %v; want 0", last, err)
	}
	if got, next, err := db.Changes(ctx, "*", 0, 10); err != nil || len(got) != 0 || next != 0 {
		t.Fatalf("Changes of an empty database = %v, %d, %v", got, next, err)
	}
	raw := rechist.NewRepo[json.RawMessage](db)
	values := []string{`{"b":1,"a":2}`, `1.50`, `"x"`, `[1,2]`, `{"deep":{"v":-0.0}}`}
	want := ""
	for i, v := range values {
		name := []string{"a::x", "b::y"}[i%2]
		storeAt(t, raw, name, json.RawMessage(v), ms(int64(100-i)))
		want += fmt.Sprintf("%s=%s@%d ", name, v, ms(int64(100-i)).UnixMilli())
	}
	all, next := follow(t, db, "*", 0, 2)
	if got := changeNames(all); got != want {
		t.Fatalf("Changes from 0 =\n %s\nwant (commit order, values as stored)\n %s", got, want)
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID <= all[i-1].ID {
			t.Fatalf("ids not ascending: %d then %d", all[i-1].ID, all[i].ID)
		}
	}
	if last, err := db.LastID(ctx); err != nil || last != next || last != all[len(all)-1].ID {
		t.Fatalf("LastID = %d, %v; want %d (the newest id, where Changes stopped)", last, err, all[len(all)-1].ID)
	}
	onlyA, nextA := follow(t, db, "a::*", 0, 1)
	if len(onlyA) != 3 || nextA != next {
		t.Fatalf("Changes(a::*) = %s next %d; want the 3 rows of a::x and next %d", changeNames(onlyA), nextA, next)
	}
	// A page of rows none of which matches still moves next on.
	if got, n, err := db.Changes(ctx, "nothing", 0, 2); err != nil || len(got) != 0 || n != all[1].ID {
		t.Fatalf("Changes(nothing, 0, 2) = %v, %d, %v; want none and next %d", got, n, err, all[1].ID)
	}
	// A StoreMany's rows get ids in the order given (the SQLite engine
	// inserts them eight to a statement, the rest one by one).
	var many []rechist.Record[json.RawMessage]
	for i := range 19 {
		many = append(many, rechist.Record[json.RawMessage]{Name: fmt.Sprintf("m%02d", 18-i), Value: json.RawMessage(fmt.Sprint(i)), StoredAt: ms(5)})
	}
	if err := raw.StoreMany(ctx, many); err != nil {
		t.Fatal(err)
	}
	got, next2 := follow(t, db, "*", next, 7)
	wantMany := ""
	for _, r := range many {
		wantMany += fmt.Sprintf("%s=%s@%d ", r.Name, r.Value, r.StoredAt.UnixMilli())
	}
	if changeNames(got) != wantMany {
		t.Fatalf("a StoreMany of 19 rows in commit order:\n %s\nwant\n %s", changeNames(got), wantMany)
	}
	next = next2
	// Deleting the newest row does not let its id be handed out again.
	if _, err := db.Delete(ctx, "*", rechist.QueryParams{}); err != nil {
		t.Fatal(err)
	}
	storeAt(t, raw, "c", json.RawMessage(`7`), ms(1))
	after, _ := follow(t, db, "*", next, 10)
	if len(after) != 1 || after[0].Name != "c" || after[0].ID <= next {
		t.Fatalf("after deleting everything and storing c: Changes(%d) = %s (ids %v); want c with an id above %d", next, changeNames(after), after, next)
	}
}

// Bad arguments are refused; a closed DB says so.
func testChangesBadInput(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
	ctx := t.Context()
	for _, c := range []struct {
		pattern string
		after   int64
		limit   int
	}{{"", 0, 1}, {"*", -1, 1}, {"*", 0, 0}, {"a\x00", 0, 1}} {
		if _, _, err := db.Changes(ctx, c.pattern, c.after, c.limit); !errors.Is(err, rechist.ErrInvalidArgument) {
			t.Errorf("Changes(%q, %d, %d) = %v; want ErrInvalidArgument", c.pattern, c.after, c.limit, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Changes(ctx, "*", 0, 1); !errors.Is(err, rechist.ErrClosed) {
		t.Errorf("Changes after Close = %v; want ErrClosed", err)
	}
	if _, err := db.LastID(ctx); !errors.Is(err, rechist.ErrClosed) {
		t.Errorf("LastID after Close = %v; want ErrClosed", err)
	}
}

// Two handles on one database (two writers, as two processes would be)
// store concurrently while a follower reads Changes: it sees every row
// exactly once, ids ascending. On PostgreSQL this holds only because
// commits take the commit-order lock: without it, a transaction holding a
// lower id can commit after one holding a higher id, and the follower,
// already past it, never sees it.
func testChangesFollowConcurrentWriters(t *testing.T, h Harness) {
	dsn := h.NewDSN(t)
	const writers, per = 6, 150
	var dbs []*rechist.DB
	for range 2 {
		db, err := open(t.Context(), dsn, h.Fast...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs = append(dbs, db)
	}
	ctx, cancel := context.WithTimeout(t.Context(), workTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rechist.NewRepo[int](dbs[w%2])
			for i := range per {
				if err := r.Store(ctx, fmt.Sprintf("w%d", w), i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen := map[string]int{}
	var next, lastID int64
	total, finished := 0, false
	for total < writers*per {
		select {
		case err := <-errs:
			t.Fatal(err)
		case <-ctx.Done():
			t.Fatalf("writers not done before the deadline: %v", ctx.Err())
		default:
		}
		if !finished {
			select {
			case <-done:
				finished = true // every row is committed: one more read must see the rest
			default:
			}
		} else if total < writers*per {
			t.Fatalf("follower saw %d of %d rows after the writers finished (rows committed out of id order were skipped)", total, writers*per)
		}
		got, n, err := dbs[0].Changes(ctx, "*", next, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range got {
			if c.ID <= lastID {
				t.Fatalf("id %d after %d", c.ID, lastID)
			}
			lastID = c.ID
			var v int
			if err := json.Unmarshal(c.Value, &v); err != nil {
				t.Fatal(err)
			}
			key := fmt.Sprintf("%s/%d", c.Name, v)
			seen[key]++
			if seen[key] > 1 {
				t.Fatalf("%s seen twice", key)
			}
			total++
		}
		next = n
	}
	waitGroup(t, "writers", &wg, eventTimeout)
}
