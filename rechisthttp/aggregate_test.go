package rechisthttp

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/timeparse"
)

// Without start and end, the bucket count is bounded from the span of the
// rows themselves. (Before: the check needed both ends, and every=1ms over
// a long history built an answer of hundreds of MB in memory.)
func TestAggregateBucketsFromTheDataSpan(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	store(t, db, "a", 1_000, `1`)
	store(t, db, "a", 2_000, `2`)
	store(t, db, "b", 50_000, `3`)
	h := NewHandler(db)
	h.cfg.maxAggBuckets = 100
	for target, want := range map[string]int{
		"/api/aggregate?every=1ms":                               400, // a: 1,001 buckets
		"/api/aggregate?every=1ms&start=0":                       400,
		"/api/aggregate?every=1ms&end=100000":                    400,
		"/api/aggregate?every=10ms":                              400, // a: 101 buckets
		"/api/aggregate?every=20ms":                              200, // a: 51, b: 1
		"/api/aggregate?every=1ms&start=1950&end=49990":          200, // a: 51 (2000 only), b: none
		"/api/aggregate?every=1ms&start=0&end=1000000":           400,
		"/api/aggregate?every=1ms&pattern=b":                     200,
		"/api/aggregate?every=1ms&start=0&end=1000000&pattern=b": 200, // the data's span, not the range's
	} {
		a := do(t, h, "GET", target, nil)
		if a.code != want {
			t.Errorf("%s: %d %s, want %d", target, a.code, a.body, want)
		}
		if a.code == 400 && !strings.Contains(string(a.body), "buckets") {
			t.Errorf("%s: %s does not say why", target, a.body)
		}
	}
}

// JSON has no Inf or NaN: a sum beyond float64's range is written as null,
// the rest of the bucket as numbers. (Before: 500 "json: unsupported
// value".)
func TestAggregateNonFiniteIsNull(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	store(t, db, "huge", 1_000, `1.7e308`)
	store(t, db, "huge", 2_000, `1.7e308`)
	h := NewHandler(db)
	a := do(t, h, "GET", "/api/aggregate?every=1d", nil)
	if a.code != 200 {
		t.Fatalf("%d %s", a.code, a.body)
	}
	var got []struct {
		Name    string
		Buckets []map[string]*float64
	}
	if err := json.Unmarshal(a.body, &got); err != nil {
		t.Fatalf("%v: %s", err, a.body)
	}
	if len(got) != 1 || len(got[0].Buckets) != 1 {
		t.Fatalf("%s", a.body)
	}
	b := got[0].Buckets[0]
	if b["sum"] != nil {
		t.Errorf("sum %v, want null: %s", *b["sum"], a.body)
	}
	for _, k := range []string{"count", "min", "max", "mean", "first", "last"} {
		if b[k] == nil {
			t.Errorf("%s is null: %s", k, a.body)
		}
	}
	if _, ok := b["sum"]; !ok {
		t.Errorf("no sum at all: %s", a.body)
	}
}

// A bad field is a 400 whether or not rows are in range.
func TestAggregateBadField(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	store(t, db, "a", 1_000, `{"c":1}`)
	h := NewHandler(db)
	for _, target := range []string{
		"/api/aggregate?every=1s&field=c..d",
		"/api/aggregate?every=1s&field=c..d&start=5000",
		"/api/aggregate?every=1s&field=c..d&pattern=none",
	} {
		if a := do(t, h, "GET", target, nil); a.code != 400 {
			t.Errorf("%s: %d %s", target, a.code, a.body)
		}
	}
}

// Read in chunks of a few buckets, record by record, the answer is the
// library's Aggregate over the whole range, for any range and width; a
// name holding '*' (a pattern that matches other records too) included.
func TestAggregateChunksMatchTheLibrary(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	rng := rand.New(rand.NewPCG(7, 8))
	var recs []rechist.Record[json.RawMessage]
	for _, name := range []string{"s*", "s1", "s2", "t"} {
		for range 300 {
			recs = append(recs, rechist.Record[json.RawMessage]{Name: name, StoredAt: time.UnixMilli(rng.Int64N(100_000)),
				Value: json.RawMessage(fmt.Sprintf(`{"c":%d}`, rng.IntN(1000)-500))})
		}
	}
	if err := rechist.NewRepo[json.RawMessage](db).StoreMany(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	h := NewHandler(db)
	h.cfg.aggChunk = 20
	for _, q := range []struct {
		pattern, every string
		start, end     int64 // -1: left out
	}{
		{"*", "1s", -1, -1}, {"s*", "97ms", -1, -1}, {"*", "250ms", 12_345, 67_890}, {"s1", "131ms", 5_000, -1}, {"s2", "1ms", 5_000, 6_000},
		{"t", "1d", -1, -1}, {"*", "3s", -1, 50_000}, {"s*", "1s", 99_999, 99_999}, {"*", "100s", 10_000, 1_000_000}, {"none", "1s", -1, -1},
	} {
		target := fmt.Sprintf("/api/aggregate?field=c&pattern=%s&every=%s", url.QueryEscape(q.pattern), q.every)
		var p rechist.AggregateParams
		p.Field = "c"
		p.Every, _ = timeparse.Duration(q.every)
		if q.start >= 0 {
			target += fmt.Sprintf("&start=%d", q.start)
			p.Start = time.UnixMilli(q.start)
		}
		if q.end >= 0 {
			target += fmt.Sprintf("&end=%d", q.end)
			p.End = time.UnixMilli(q.end)
		}
		series, err := db.Aggregate(t.Context(), q.pattern, p)
		if err != nil {
			t.Fatal(err)
		}
		var want strings.Builder
		want.WriteByte('[')
		for i, s := range series {
			if i > 0 {
				want.WriteByte(',')
			}
			fmt.Fprintf(&want, `{"name":%q,"buckets":[`, s.Name)
			for j, k := range s.Buckets {
				if j > 0 {
					want.WriteByte(',')
				}
				want.Write(appendBucket(nil, k))
			}
			want.WriteString("]}")
		}
		want.WriteString("]\n")
		a := do(t, h, "GET", target, nil)
		if a.code != 200 || string(a.body) != want.String() {
			t.Errorf("%s: %d\n%.300s\nwant\n%.300s", target, a.code, a.body, want.String())
		}
	}
}

func TestAppendNumberIsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.99e-7, 1e-7, 1.5e-300, 123456789, 1e20, 1e21, -1e21,
		1.7e308, math.MaxFloat64, math.SmallestNonzeroFloat64, 2.5e-10, 1e100, 3.14159, -2.5e-7} {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendNumber(nil, f); string(got) != string(want) {
			t.Errorf("%v: %s, want %s", f, got, want)
		}
	}
	for _, f := range []float64{math.Inf(1), math.Inf(-1), math.NaN()} {
		if got := appendNumber(nil, f); string(got) != "null" {
			t.Errorf("%v: %s, want null", f, got)
		}
	}
}

// tz= aligns /api/aggregate's buckets to a zone's wall clock, as the
// library's Location does; chunks of buckets are cut where the zone's
// buckets start (a day of New York is not split at UTC midnight); a bad
// zone, or the server's "Local", is a 400.
func TestAggregateInATimeZone(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 5, 0, 0, 0, 0, newYork)
	for i := range 24 * 8 { // hourly, over the spring change
		store(t, db, "n", start.Add(time.Duration(i)*time.Hour).UnixMilli(), strconv.Itoa(i))
	}
	h := NewHandler(db)
	h.cfg.aggChunk = 2
	a := do(t, h, "GET", "/api/aggregate?pattern=n&every=1d&tz=America/New_York", nil)
	var got []struct {
		Buckets []struct {
			Start int64 `json:"start"`
			Count int64 `json:"count"`
		} `json:"buckets"`
	}
	if a.code != 200 || json.Unmarshal(a.body, &got) != nil || len(got) != 1 {
		t.Fatalf("aggregate in New York: %d %s", a.code, a.body)
	}
	var counts []string
	for _, b := range got[0].Buckets {
		if at := time.UnixMilli(b.Start).In(newYork); at.Hour() != 0 {
			t.Errorf("a New York day starts at %v", at)
		}
		counts = append(counts, strconv.FormatInt(b.Count, 10))
	}
	// 24 hourly rows a day, 23 on the day clocks go forward (Mar 8).
	if got, want := strings.Join(counts, " "), "24 24 24 23 24 24 24 24 1"; got != want {
		t.Errorf("rows per New York day: %s, want %s", got, want)
	}
	for _, q := range []string{"tz=Nowhere/Land", "tz=Local"} {
		if a := do(t, h, "GET", "/api/aggregate?pattern=n&every=1d&"+q, nil); a.code != 400 || !strings.Contains(string(a.body), "not a time zone") {
			t.Errorf("aggregate %s: %d %s, want 400", q, a.code, a.body)
		}
	}
}
