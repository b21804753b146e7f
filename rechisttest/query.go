package rechisttest

// Query and QueryLatest: ordering, latest n per record, time ranges and limits.

import (
	"errors"
	"slices"
	"testing"

	"github.com/seed178a96f3/rechist"
)

func testLatestNPerRecordAndOrdering(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
	r := rechist.NewRepo[int](db)
	// Interleaved, out of time order, with a tie at 30 on "b".
	storeAt(t, r, "b", 1, ms(10))
	storeAt(t, r, "a", 2, ms(20))
	storeAt(t, r, "b", 3, ms(30))
	storeAt(t, r, "a", 4, ms(5))
	storeAt(t, r, "b", 5, ms(30))
	storeAt(t, r, "B", 6, ms(1))
	storeAt(t, r, "a", 7, ms(15))

	got, err := r.QueryLatest(t.Context(), "*", 2)
	if err != nil {
		t.Fatal(err)
	}
	// Bytewise name order ("B" < "a" < "b"), newest first, later insert first on ties.
	if want := "B@1=6 a@20=2 a@15=7 b@30=5 b@30=3"; summary(got) != want {
		t.Fatalf("QueryLatest(*, 2) =\n %s\nwant\n %s", summary(got), want)
	}
	got, err = r.QueryLatest(t.Context(), "a", 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := "a@20=2"; summary(got) != want {
		t.Fatalf("QueryLatest(a, 1) = %s, want %s", summary(got), want)
	}
	got, err = r.Query(t.Context(), "b", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "b@30=5 b@30=3 b@10=1"; summary(got) != want {
		t.Fatalf("Query(b) = %s, want %s", summary(got), want)
	}
}

func testTimeRangeInclusiveAndLimit(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
	r := rechist.NewRepo[int](db)
	for i := int64(0); i <= 10; i++ {
		storeAt(t, r, "s::x", int(i), ms(i*10))
		storeAt(t, r, "s::y", int(i), ms(i*10+5))
	}
	q := func(p rechist.QueryParams) string {
		t.Helper()
		got, err := r.Query(t.Context(), "s::*", p)
		if err != nil {
			t.Fatal(err)
		}
		return summary(got)
	}
	// Both bounds inclusive: 20 and 40 are in, 45 (y) is out, 25 and 35 (y) in.
	if got, want := q(rechist.QueryParams{Start: ms(20), End: ms(40)}),
		"s::x@40=4 s::x@30=3 s::x@20=2 s::y@35=3 s::y@25=2"; got != want {
		t.Errorf("range [20,40]:\n got %s\nwant %s", got, want)
	}
	if got, want := q(rechist.QueryParams{Start: ms(20), End: ms(40), LimitPerRecord: 1}),
		"s::x@40=4 s::y@35=3"; got != want {
		t.Errorf("range [20,40] limit 1: got %s, want %s", got, want)
	}
	// Open-ended on either side.
	if got, want := q(rechist.QueryParams{Start: ms(95)}), "s::x@100=10 s::y@105=10 s::y@95=9"; got != want {
		t.Errorf("start 95: got %s, want %s", got, want)
	}
	if got, want := q(rechist.QueryParams{End: ms(5)}), "s::x@0=0 s::y@5=0"; got != want {
		t.Errorf("end 5: got %s, want %s", got, want)
	}
	// A single instant.
	if got, want := q(rechist.QueryParams{Start: ms(50), End: ms(50)}), "s::x@50=5"; got != want {
		t.Errorf("instant 50: got %s, want %s", got, want)
	}
	if got := q(rechist.QueryParams{LimitPerRecord: 3}); got != "s::x@100=10 s::x@90=9 s::x@80=8 s::y@105=10 s::y@95=9 s::y@85=8" {
		t.Errorf("limit 3: got %s", got)
	}
}

// testOldestFirst: QueryParams.OldestFirst reverses each record's order
// but not the tie rule (the later insert first among equal times), keeps
// the oldest rows under a limit, honours the range, is the same through
// Query and All (with '*' and topic-free patterns), and Timeline refuses it.
func testOldestFirst(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
	r := rechist.NewRepo[int](db)
	// Out of time order, with ties at 30 on "o::b" and at 20 on "o::a".
	storeAt(t, r, "o::b", 1, ms(10))
	storeAt(t, r, "o::a", 2, ms(20))
	storeAt(t, r, "o::b", 3, ms(30))
	storeAt(t, r, "o::a", 4, ms(5))
	storeAt(t, r, "o::b", 5, ms(30))
	storeAt(t, r, "o::a", 6, ms(20))
	storeAt(t, r, "o::b", 7, ms(40))
	storeAt(t, r, "other", 8, ms(1))
	q := func(p rechist.QueryParams) string {
		t.Helper()
		p.OldestFirst = true
		got, err := r.Query(t.Context(), "o::*", p)
		if err != nil {
			t.Fatal(err)
		}
		var all []rechist.Record[int]
		for rec, err := range r.All(t.Context(), "o::*", p) {
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, rec)
		}
		if summary(all) != summary(got) {
			t.Fatalf("All(%+v) = %s, Query = %s", p, summary(all), summary(got))
		}
		return summary(got)
	}
	cases := []struct {
		p    rechist.QueryParams
		want string
	}{
		{rechist.QueryParams{}, "o::a@5=4 o::a@20=6 o::a@20=2 o::b@10=1 o::b@30=5 o::b@30=3 o::b@40=7"},
		{rechist.QueryParams{LimitPerRecord: 2}, "o::a@5=4 o::a@20=6 o::b@10=1 o::b@30=5"},
		{rechist.QueryParams{Start: ms(20), End: ms(30)}, "o::a@20=6 o::a@20=2 o::b@30=5 o::b@30=3"},
		{rechist.QueryParams{Start: ms(11), LimitPerRecord: 1}, "o::a@20=6 o::b@30=5"},
	}
	for _, c := range cases {
		if got := q(c.p); got != c.want {
			t.Errorf("OldestFirst %+v:\n got %s\nwant %s", c.p, got, c.want)
		}
	}
	// Exactly newest first reversed except within ties, on a name alone.
	newest, err := r.Query(t.Context(), "o::b", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	oldest, err := r.Query(t.Context(), "o::b", rechist.QueryParams{OldestFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(newest, func(a, b rechist.Record[int]) int { return a.StoredAt.Compare(b.StoredAt) })
	if summary(newest) != summary(oldest) {
		t.Errorf("newest first sorted by time (stable) = %s, oldest first = %s", summary(newest), summary(oldest))
	}
	// Timeline is in time order either way; a limit keeps the newest.
	var tl []rechist.Record[int]
	for rec, err := range r.Timeline(t.Context(), "o::*", rechist.QueryParams{OldestFirst: true}) {
		if err != nil {
			t.Fatalf("Timeline with OldestFirst: %v", err)
		}
		tl = append(tl, rec)
	}
	if got, want := summary(tl), "o::a@5=4 o::b@10=1 o::a@20=2 o::a@20=6 o::b@30=3 o::b@30=5 o::b@40=7"; got != want {
		t.Errorf("Timeline with OldestFirst:\n got %s\nwant %s", got, want)
	}
	var terr error
	for _, err := range r.Timeline(t.Context(), "o::*", rechist.QueryParams{OldestFirst: true, LimitPerRecord: 1}) {
		terr = err
	}
	if !errors.Is(terr, rechist.ErrInvalidArgument) {
		t.Fatalf("Timeline with OldestFirst and a limit: %v, want ErrInvalidArgument", terr)
	}
}
