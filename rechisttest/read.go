package rechisttest

// The read side: streaming, one record's newest value, listing, deleting,
// aggregation, topic patterns.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// fill stores names × per rows, with ties in time, and returns them.
func fill(t *testing.T, db *rechist.DB, names []string, per int) {
	t.Helper()
	var recs []rechist.Record[int]
	for i := range per {
		for j, n := range names {
			recs = append(recs, rechist.Record[int]{Name: n, Value: i*100 + j, StoredAt: ms(int64(i / 2))}) // pairs tie
		}
	}
	if err := rechist.NewRepo[int](db).StoreMany(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
}

func collect[T any](t *testing.T, seq func(func(rechist.Record[T], error) bool)) ([]rechist.Record[T], error) {
	t.Helper()
	var out []rechist.Record[T]
	for rec, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// All returns what Query returns, in the same order, for every kind of
// pattern and parameters; breaking out early releases its connection.
func testAllMatchesQuery(t *testing.T, h Harness) {
	db, dsn := h.openDB(t)
	fill(t, db, []string{"a::x", "a::y", "b::x", "b*", "c"}, 30)
	h.InsertRaw(t, dsn, "a::bad", "not json", 1)
	r := rechist.NewRepo[int](db)
	for _, pat := range []string{"*", "a::*", "*::x", "b*", "c", "nothing*"} {
		for _, p := range []rechist.QueryParams{{}, {LimitPerRecord: 3}, {Start: ms(3), End: ms(9)}, {Start: ms(3), LimitPerRecord: 1}} {
			want, err := r.Query(t.Context(), pat, p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := collect(t, r.All(t.Context(), pat, p))
			if err != nil {
				t.Fatal(err)
			}
			if summary(got) != summary(want) {
				t.Fatalf("All(%q, %+v) =\n %s\nQuery =\n %s", pat, p, summary(got), summary(want))
			}
		}
	}
	// Breaking out early, many more times than there are connections.
	for range 50 {
		for rec, err := range r.All(t.Context(), "*", rechist.QueryParams{}) {
			if err != nil {
				t.Fatal(err)
			}
			_ = rec
			break
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), eventTimeout)
	defer cancel()
	if got, err := r.QueryLatest(ctx, "c", 1); err != nil || len(got) != 1 {
		t.Fatalf("after 50 early breaks: %v, %v (connections not released?)", got, err)
	}
	// Bad input comes as the one, last element.
	var errs int
	for _, err := range r.All(t.Context(), "", rechist.QueryParams{}) {
		if !errors.Is(err, rechist.ErrInvalidArgument) {
			t.Fatalf("All with an empty pattern: %v", err)
		}
		errs++
	}
	if errs != 1 {
		t.Fatalf("All with an empty pattern yielded %d elements, want 1 error", errs)
	}
}

// A ctx cancelled mid-stream ends the stream with the ctx's error, once,
// as the last element.
func testAllStopsOnCancel(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
	names := make([]string, 40)
	for i := range names {
		names[i] = fmt.Sprintf("n%02d", i)
	}
	fill(t, db, names, 25)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var rows, errs int
	var last error
	for _, err := range rechist.NewRepo[int](db).All(ctx, "*", rechist.QueryParams{}) {
		if err != nil {
			errs++
			last = err
			continue
		}
		if errs > 0 {
			t.Fatal("a row came after the error")
		}
		if rows++; rows == 5 {
			cancel()
		}
	}
	if errs != 1 || !errors.Is(last, context.Canceled) || rows >= 1000 {
		t.Fatalf("after cancelling: %d rows, %d errors, last %v", rows, errs, last)
	}
}

// Latest returns one record's newest value by exact name ('*' is just a
// character); a record without rows is ErrNotFound.
func testLatestByExactName(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
	r := rechist.NewRepo[int](db)
	storeAt(t, r, "a*", 1, ms(1))
	storeAt(t, r, "a*", 2, ms(3))
	storeAt(t, r, "a*", 3, ms(3)) // a tie: the later insert wins
	storeAt(t, r, "ab", 9, ms(9))
	got, err := r.Latest(t.Context(), "a*")
	if err != nil || got.Value != 3 || got.Name != "a*" || !got.StoredAt.Equal(ms(3)) {
		t.Fatalf("Latest(a*) = %+v, %v; want 3 at 3", got, err)
	}
	if _, err := r.Latest(t.Context(), "a"); !errors.Is(err, rechist.ErrNotFound) {
		t.Fatalf("Latest of a record without rows: %v, want ErrNotFound", err)
	}
	if _, err := r.Latest(t.Context(), ""); !errors.Is(err, rechist.ErrInvalidArgument) {
		t.Fatalf("Latest with an empty name: %v", err)
	}
}

// Records lists what is there: names in order, rows, first and last.
func testRecordsListsWhatIsThere(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
	r := rechist.NewRepo[int](db)
	storeAt(t, r, "s::b", 1, ms(5))
	storeAt(t, r, "s::a", 1, ms(2))
	storeAt(t, r, "s::a", 1, ms(9))
	storeAt(t, r, "t::a", 1, ms(1))
	got, err := db.Records(t.Context(), "s::*")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, i := range got {
		fmt.Fprintf(&b, "%s:%d:%d-%d ", i.Name, i.Rows, i.First.UnixMilli()-ms(0).UnixMilli(), i.Last.UnixMilli()-ms(0).UnixMilli())
	}
	if want := "s::a:2:2-9 s::b:1:5-5 "; b.String() != want {
		t.Fatalf("Records(s::*) = %q, want %q", b.String(), want)
	}
	if got, err := db.Records(t.Context(), "none*"); err != nil || len(got) != 0 {
		t.Fatalf("Records(none*) = %v, %v", got, err)
	}
}

// Delete removes the matching records' rows within the range, in chunks,
// and nothing else.
func testDeleteMatchingRows(t *testing.T, h Harness) {
	db, _ := h.openDB(t, rechist.WithCleanupChunk(7))
	fill(t, db, []string{"d::a", "d::b", "e::a"}, 40) // times 0..19, two rows each
	n, err := db.Delete(t.Context(), "d::*", rechist.QueryParams{Start: ms(5), End: ms(14)})
	if err != nil || n != 2*20*2/2 {
		t.Fatalf("Delete(d::*, 5..14) = %d, %v; want 40", n, err)
	}
	left, err := rechist.NewRepo[int](db).Query(t.Context(), "*", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range left {
		at := rec.StoredAt.UnixMilli() - ms(0).UnixMilli()
		if strings.HasPrefix(rec.Name, "d::") && at >= 5 && at <= 14 {
			t.Fatalf("%s at %d survived", rec.Name, at)
		}
	}
	if len(left) != 120-40 {
		t.Fatalf("%d rows left, want 80", len(left))
	}
	if n, err := db.Delete(t.Context(), "d::*", rechist.QueryParams{End: ms(4)}); err != nil || n != 20 {
		t.Fatalf("Delete(d::*, ..4) = %d, %v; want 20", n, err)
	}
	if _, err := db.Delete(t.Context(), "d::*", rechist.QueryParams{LimitPerRecord: 1}); !errors.Is(err, rechist.ErrInvalidArgument) {
		t.Fatalf("Delete with a LimitPerRecord: %v, want ErrInvalidArgument", err)
	}
}

// Aggregate summarises a numeric field in epoch-aligned buckets: exact
// boundaries, missing and non-numeric fields left out, first and last by
// time then insert order, the value itself with an empty field.
func testAggregateBuckets(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
	raw := rechist.NewRepo[json.RawMessage](db)
	put := func(name string, at int64, v string) {
		t.Helper()
		if err := raw.StoreAt(t.Context(), name, json.RawMessage(v), time.UnixMilli(at)); err != nil {
			t.Fatal(err)
		}
	}
	// Buckets of 10 ms: [0,10) [10,20) [20,30).
	put("t::a", 0, `{"c":1,"r":{"v":10}}`)
	put("t::a", 9, `{"c":3}`)
	put("t::a", 9, `{"c":2}`)       // a tie at 9: the later insert is Last
	put("t::a", 10, `{"c":-4.5}`)   // exactly on a boundary: the second bucket
	put("t::a", 15, `{"c":"warm"}`) // not a number: left out
	put("t::a", 16, `{"other":1}`)  // missing: left out
	put("t::a", 17, `{"c":null}`)   // null: left out
	put("t::a", 29, `{"c":true}`)   // a boolean: left out
	put("t::b", 25, `{"c":7}`)
	put("t::n", 5, `12.5`)
	put("u::a", 5, `{"c":100}`)
	series, err := db.Aggregate(t.Context(), "t::*", rechist.AggregateParams{Field: "c", Every: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, s := range series {
		fmt.Fprintf(&b, "%s:", s.Name)
		for _, k := range s.Buckets {
			fmt.Fprintf(&b, " [%d n%d min%g max%g mean%g sum%g first%g last%g]", k.Start.UnixMilli(), k.Count, k.Min, k.Max, k.Mean, k.Sum, k.First, k.Last)
		}
		b.WriteString("; ")
	}
	want := "t::a: [0 n3 min1 max3 mean2 sum6 first1 last2] [10 n1 min-4.5 max-4.5 mean-4.5 sum-4.5 first-4.5 last-4.5]; t::b: [20 n1 min7 max7 mean7 sum7 first7 last7]; "
	if b.String() != want {
		t.Fatalf("Aggregate(t::*, c, 10ms) =\n %s\nwant\n %s", b.String(), want)
	}
	// A nested field; the value itself; a time range.
	nested, err := db.Aggregate(t.Context(), "t::a", rechist.AggregateParams{Field: "r.v", Every: time.Hour})
	if err != nil || len(nested) != 1 || nested[0].Buckets[0].Sum != 10 {
		t.Fatalf("nested field: %+v, %v", nested, err)
	}
	self, err := db.Aggregate(t.Context(), "t::n", rechist.AggregateParams{Every: time.Hour})
	if err != nil || len(self) != 1 || self[0].Buckets[0].Last != 12.5 {
		t.Fatalf("the value itself: %+v, %v", self, err)
	}
	ranged, err := db.Aggregate(t.Context(), "t::a", rechist.AggregateParams{Field: "c", Every: 10 * time.Millisecond, Start: time.UnixMilli(9), End: time.UnixMilli(9)})
	if err != nil || len(ranged) != 1 || ranged[0].Buckets[0].Count != 2 {
		t.Fatalf("a range of one millisecond: %+v, %v", ranged, err)
	}
	for name, p := range map[string]rechist.AggregateParams{
		"every under 1 ms":   {Field: "c", Every: time.Microsecond},
		"an empty segment":   {Field: "a..b", Every: time.Second},
		"start after end":    {Field: "c", Every: time.Second, Start: ms(2), End: ms(1)},
		"a fraction of a ms": {Field: "c", Every: 1500 * time.Microsecond},
	} {
		if _, err := db.Aggregate(t.Context(), "t::*", p); !errors.Is(err, rechist.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
}

// Topic patterns (WithTopicPatterns), with AimDB's own cases, in every
// call that takes a pattern.
func testTopicPatterns(t *testing.T, h Harness) {
	dsn := h.NewDSN(t)
	db, err := open(t.Context(), dsn, rechist.WithTopicPatterns())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := rechist.NewRepo[int](db)
	for i, n := range []string{"sensors", "sensors.temp.vienna", "sensors_extra.temp", "temp", "temp.vienna",
		"temp.vienna.indoor", "a.public", "a.c.b.c", "a", "x/y.z", "sensors*", "sensorsX"} {
		storeAt(t, r, n, i, ms(int64(i)))
	}
	for _, tc := range []struct{ pattern, want string }{
		{"sensors.#", "sensors sensors.temp.vienna"},
		{"temp.*", "temp.vienna"},
		{"a.#.secret", ""},
		{"a.#.c", "a.c.b.c"},
		{"#.a", "a"},
		{"x/y.*", "x/y.z"},
		{"sensors*", "sensors*"},
		{"*", "a sensors sensors* sensorsX temp"},
		{"#", "a a.c.b.c a.public sensors sensors* sensors.temp.vienna sensorsX sensors_extra.temp temp temp.vienna temp.vienna.indoor x/y.z"},
	} {
		got, err := r.Query(t.Context(), tc.pattern, rechist.QueryParams{})
		if err != nil {
			t.Fatal(err)
		}
		if names(got) != tc.want {
			t.Errorf("Query(%q) = %q, want %q", tc.pattern, names(got), tc.want)
		}
		streamed, err := collect(t, r.All(t.Context(), tc.pattern, rechist.QueryParams{}))
		if err != nil || names(streamed) != tc.want {
			t.Errorf("All(%q) = %q, %v", tc.pattern, names(streamed), err)
		}
		infos, err := db.Records(t.Context(), tc.pattern)
		if err != nil || len(infos) != len(got) {
			t.Errorf("Records(%q): %d, %v; want %d", tc.pattern, len(infos), err, len(got))
		}
	}
	if n, err := db.Delete(t.Context(), "temp.*", rechist.QueryParams{}); err != nil || n != 1 {
		t.Fatalf("Delete(temp.*) = %d, %v; want 1", n, err)
	}
	series, err := db.Aggregate(t.Context(), "sensors.#", rechist.AggregateParams{Every: time.Hour})
	if err != nil || len(series) != 2 {
		t.Fatalf("Aggregate(sensors.#) = %d series, %v; want 2", len(series), err)
	}
}
