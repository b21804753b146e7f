package rechisttest

// Reading rows in commit order (Changes, LastID): what live streams and
// sync are built on.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

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
// exactly once, ids ascending.
func testChangesFollowConcurrentWriters(t *testing.T, h Harness) {
	dsn := h.NewDSN(t)
	dbs := openHandles(t, dsn, 2, h.Fast...)
	const writers, per = 6, 150
	followWriters(t, dbs[0], writers*per, func(ctx context.Context, run func(func() error)) {
		for w := range writers {
			r := rechist.NewRepo[int](dbs[w%2])
			run(func() error {
				for i := range per {
					if err := r.Store(ctx, fmt.Sprintf("w%d", w), i); err != nil {
						return err
					}
				}
				return nil
			})
		}
	})
}

// Sixteen handles (sixteen writers, as sixteen processes would be) and
// another program store while a follower reads Changes, every commit held
// back for a random time after its rows are written (Harness.DelayCommits):
// transactions commit in another order than their ids, and the follower
// must still see every row once, ids ascending. On PostgreSQL, where
// writers run side by side, it fails if Changes reads past an id that a
// running transaction holds.
func testChangesFollowWritersWithCommitDelays(t *testing.T, h Harness) {
	dsn := h.NewDSN(t)
	const writers, per, raw = 16, 40, 60
	dbs := openHandles(t, dsn, writers, h.Fast...)
	if h.DelayCommits != nil {
		h.DelayCommits(t, dsn, 20*time.Millisecond)
	}
	want := writers * per
	if h.InsertRaw != nil {
		want += raw
	}
	followWriters(t, dbs[0], want, func(ctx context.Context, run func(func() error)) {
		for w := range writers {
			r := rechist.NewRepo[int](dbs[w])
			run(func() error {
				for i := range per {
					if err := r.Store(ctx, fmt.Sprintf("w%d", w), i); err != nil {
						return err
					}
				}
				return nil
			})
		}
		if h.InsertRaw != nil {
			run(func() error {
				for i := range raw {
					h.InsertRaw(t, dsn, "other", strconv.Itoa(i), time.Now().UnixMilli())
				}
				return nil
			})
		}
	})
}

// openHandles opens n handles on dsn, closed when the test ends.
func openHandles(t *testing.T, dsn string, n int, opts ...rechist.Option) []*rechist.DB {
	t.Helper()
	dbs := make([]*rechist.DB, n)
	for i := range dbs {
		db, err := open(t.Context(), dsn, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	return dbs
}

// followWriters starts the writers start runs (each function given to run
// in a goroutine of its own) and follows db's Changes from the start until
// it has seen want rows, each value (an int, unique per name) once and ids
// ascending. Once every writer has returned, one more read must see the
// rest.
func followWriters(t *testing.T, db *rechist.DB, want int, start func(ctx context.Context, run func(func() error))) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), workTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	start(ctx, func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errs <- err
			}
		}()
	})
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen := map[string]int{}
	var next, lastID int64
	total, finished := 0, false
	for total < want {
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
		} else if total < want {
			all, _, _ := db.Changes(ctx, "*", 0, 1<<20)
			missed := ""
			for _, c := range all {
				var v int
				_ = json.Unmarshal(c.Value, &v)
				if seen[fmt.Sprintf("%s/%d", c.Name, v)] == 0 {
					missed += fmt.Sprintf(" %d:%s/%d", c.ID, c.Name, v)
				}
			}
			t.Fatalf("follower saw %d of %d rows after the writers finished (rows committed out of id order were skipped), next %d, missed:%s", total, want, next, missed)
		}
		got, n, err := db.Changes(ctx, "*", next, 1<<20)
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
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}
