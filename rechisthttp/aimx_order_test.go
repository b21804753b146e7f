package rechisthttp

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist/internal/core"
)

// replyOrder against the order spelled out: by time, then name, then
// insert order (ids), for rows in Query's order, with times close
// together (one uint64 a row) and far apart (the sort of two), and a
// pattern that leaves records out.
func TestReplyOrderMatchesTheReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		span := int64(20)
		if round%3 == 1 {
			span = math.MaxInt64 / 2 // no room for an ordinal: the fallback
		}
		var rows []core.Row
		id := int64(0)
		for r := range 1 + rng.IntN(30) {
			name := fmt.Sprintf("a.%02d", r)
			if rng.IntN(4) == 0 {
				name = fmt.Sprintf("b.%02d", r)
			}
			var recRows []core.Row
			for range 1 + rng.IntN(6) {
				id++
				recRows = append(recRows, core.Row{ID: id, Name: name, StoredAt: rng.Int64N(span)})
			}
			// Query's order within a record: newest first, the later store first.
			slices.SortFunc(recRows, func(a, b core.Row) int {
				return cmp.Or(cmp.Compare(b.StoredAt, a.StoredAt), cmp.Compare(b.ID, a.ID))
			})
			rows = append(rows, recRows...)
		}
		var want []int64
		ref := slices.Clone(rows)
		slices.SortFunc(ref, func(a, b core.Row) int {
			return cmp.Or(cmp.Compare(a.StoredAt, b.StoredAt), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
		})
		for _, r := range ref {
			if r.Name[0] == 'a' {
				want = append(want, r.ID)
			}
		}
		var got []int64
		for _, i := range replyOrder(rows, "a.*") {
			got = append(got, rows[i].ID)
		}
		if !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Fatalf("round %d: ids\n got %v\nwant %v", round, got, want)
		}
	}
}

// A row another program wrote whose value is not JSON is left out of a
// record.query reply (which stays whole), logged and counted, as
// QueryLatest leaves it out.
func TestAIMXQuerySkipsValuesThatAreNotJSON(t *testing.T) {
	s := startAIMX(t, []aimxSeed{{"q.a", 1000, `{"v":1}`}, {"q.b", 2000, `{"v":2}`}}, nil)
	raw, err := sql.Open("sqlite", s.path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO record_history (record_name, value_json, stored_at) VALUES ('q.a', '{"v":', 1500)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	wire, _, err := dialAIMXWS(ctx, s.base)
	if err != nil {
		t.Fatal(err)
	}
	c := newAIMXClient(wire)
	defer c.close()
	b, err := c.call(ctx, "record.query", map[string]any{"name": "q.#", "limit": 5})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"records":[{"topic":"q.a","payload":{"v":1},"ts":1000},{"topic":"q.b","payload":{"v":2},"ts":2000}],"total":2}`; string(b) != want {
		t.Fatalf("reply %s\nwant  %s", b, want)
	}
	if n := s.h.db.Stats().SkippedRows; n != 1 {
		t.Fatalf("SkippedRows = %d, want 1", n)
	}
}
