package rechisttest

// Query and QueryLatest: ordering, latest n per record, time ranges and limits.

import (
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
