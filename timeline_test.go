package rechist_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/core"
)

// timelineRef is what Timeline must stream: Query's rows sorted by time,
// then name, then insert order (Query yields each record newest first, the
// later store first among equal times).
func timelineRef(t *testing.T, ctx context.Context, repo *rechist.Repo[int], pattern string, p rechist.QueryParams) []rechist.Record[int] {
	t.Helper()
	rows, err := repo.Query(ctx, pattern, p)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(rows) // each record oldest first, earlier store first
	slices.SortStableFunc(rows, func(a, b rechist.Record[int]) int {
		return cmp.Or(a.StoredAt.Compare(b.StoredAt), cmp.Compare(a.Name, b.Name))
	})
	return rows
}

// Timeline, read in windows of a few rows each, streams exactly the sorted
// Query of the same rows, for several limits and ranges, with many rows
// sharing a millisecond.
func TestTimelineMatchesSortedQuery(t *testing.T) {
	ctx := context.Background()
	db, err := rechist.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	repo := rechist.NewRepo[int](db)
	rng := rand.New(rand.NewPCG(7, 11))
	t0 := time.UnixMilli(1_700_000_000_000)
	var recs []rechist.Record[int]
	for i := range 600 {
		name := fmt.Sprintf("m::%d", rng.IntN(7))
		at := t0.Add(time.Duration(rng.IntN(120)) * time.Millisecond) // many ties
		if i%50 == 0 {
			at = t0.Add(time.Duration(1000+rng.IntN(5)) * time.Hour) // sparse far rows
		}
		recs = append(recs, rechist.Record[int]{Name: name, Value: i, StoredAt: at})
	}
	recs = append(recs, rechist.Record[int]{Name: "other", Value: -1, StoredAt: t0})
	for chunk := range slices.Chunk(recs, 97) {
		if err := repo.StoreMany(ctx, chunk); err != nil { // several transactions: insert order spans them
			t.Fatal(err)
		}
	}
	ranges := []rechist.QueryParams{
		{},
		{Start: t0.Add(30 * time.Millisecond)},
		{End: t0.Add(80 * time.Millisecond)},
		{Start: t0.Add(10 * time.Millisecond), End: t0.Add(10 * time.Millisecond)},
		{Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour)}, // empty
	}
	for _, window := range []int{1, 3, 40, 0} { // 0: the default bounds
		wctx := core.WithTimelineWindow(ctx, window, 0)
		for _, limit := range []int{0, 1, 2, 5, 1000} {
			for ri, p := range ranges {
				p.LimitPerRecord = limit
				want := timelineRef(t, ctx, repo, "m::*", p)
				var got []rechist.Record[int]
				for rec, err := range repo.Timeline(wctx, "m::*", p) {
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, rec)
				}
				if len(got) != len(want) {
					t.Fatalf("window %d, limit %d, range %d: %d rows, want %d", window, limit, ri, len(got), len(want))
				}
				for i := range want {
					if got[i].Name != want[i].Name || got[i].Value != want[i].Value || !got[i].StoredAt.Equal(want[i].StoredAt) {
						t.Fatalf("window %d, limit %d, range %d: row %d is %+v, want %+v", window, limit, ri, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// A bad argument is yielded once, as a rechist.ErrInvalidArgument, and a
// loop broken early stops the stream.
func TestTimelineBadArgumentAndBreak(t *testing.T) {
	ctx := context.Background()
	db, err := rechist.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	repo := rechist.NewRepo[int](db)
	n := 0
	for _, err := range repo.Timeline(ctx, "m", rechist.QueryParams{LimitPerRecord: -1}) {
		n++
		if !errors.Is(err, rechist.ErrInvalidArgument) {
			t.Fatalf("err = %v, want ErrInvalidArgument", err)
		}
	}
	if n != 1 {
		t.Fatalf("%d elements, want 1 error", n)
	}
	for i := range 5 {
		if err := repo.StoreAt(ctx, "m", i, time.UnixMilli(int64(1000+i))); err != nil {
			t.Fatal(err)
		}
	}
	n = 0
	for rec, err := range repo.Timeline(ctx, "m", rechist.QueryParams{}) {
		if err != nil {
			t.Fatal(err)
		}
		if rec.Value != n {
			t.Fatalf("row %d is %d", n, rec.Value)
		}
		if n++; n == 2 {
			break
		}
	}
}
