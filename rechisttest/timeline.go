package rechisttest

// Repo.Timeline: rows of all records merged in time order.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/core"
)

// testTimelineOrder checks that Timeline, read in windows of two rows and
// in the default window, streams Query's rows sorted by time, then name bytewise, then insert
// order, with each record's newest LimitPerRecord rows.
func testTimelineOrder(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
	r := rechist.NewRepo[int](db)
	var recs []rechist.Record[int]
	for i := range 90 {
		name := []string{"t::b", "t::a", "t::B", "t::é"}[i*7%4]
		recs = append(recs, rechist.Record[int]{Name: name, Value: i, StoredAt: ms(int64(i * 13 % 11))}) // ties
	}
	for chunk := range slices.Chunk(recs, 40) {
		if err := r.StoreMany(t.Context(), chunk); err != nil {
			t.Fatal(err)
		}
	}
	// Windows of two rows, and the default window, in which a limited
	// stream is the first pass's rows alone.
	for _, window := range []int{2, 0} {
		ctx := core.WithTimelineWindow(t.Context(), window, 0)
		checkTimeline(t, r, ctx)
	}
}

// checkTimeline compares Timeline under ctx with Query, sorted.
func checkTimeline(t *testing.T, r *rechist.Repo[int], ctx context.Context) {
	t.Helper()
	for _, p := range []rechist.QueryParams{{}, {LimitPerRecord: 1}, {LimitPerRecord: 7}, {LimitPerRecord: 3, Start: ms(2), End: ms(8)}} {
		want, err := r.Query(t.Context(), "t::*", p)
		if err != nil {
			t.Fatal(err)
		}
		slices.Reverse(want) // each record oldest first, earlier store first
		slices.SortStableFunc(want, func(a, b rechist.Record[int]) int {
			return cmp.Or(a.StoredAt.Compare(b.StoredAt), cmp.Compare(a.Name, b.Name))
		})
		var got []rechist.Record[int]
		for rec, err := range r.Timeline(ctx, "t::*", p) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, rec)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%+v: Timeline gave\n%v\nwant\n%v", p, got, want)
		}
	}
}
