package rechisttest

// Aggregate with buckets aligned to a time zone (AggregateParams.Location).

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// zoneBucketOf is the reference bucket of t: by the local calendar and
// wall clock in loc, with time's own arithmetic. A whole number of days
// counts local days from 1970-01-01; a width that divides a day counts
// wall-clock time from the local midnight of t's day. The bucket starts
// at its first wall-clock time (time.Date's choice where that is
// ambiguous or skipped).
func zoneBucketOf(t time.Time, loc *time.Location, every time.Duration) int64 {
	lt := t.In(loc)
	y, m, d := lt.Date()
	if every%(24*time.Hour) == 0 {
		days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
		n := int64(every / (24 * time.Hour))
		first := days / n * n
		if days < 0 && days%n != 0 {
			first -= n
		}
		return time.Date(1970, 1, 1+int(first), 0, 0, 0, 0, loc).UnixMilli()
	}
	wall := time.Duration(lt.Hour())*time.Hour + time.Duration(lt.Minute())*time.Minute +
		time.Duration(lt.Second())*time.Second + time.Duration(lt.Nanosecond())
	return time.Date(y, m, d, 0, 0, 0, int(wall/every*every), loc).UnixMilli()
}

// Buckets in a time zone equal a reference grouped by the local calendar
// and wall clock, around both of New York's clock changes of 2026, in
// Kathmandu (UTC+5:45) and in a fixed zone, from raw rows on both engines.
// Where retention deleted the raw rows, an hourly tier serves New York's
// days and hours (whole-hour offsets), exactly; Kathmandu's cannot (its
// offset is not whole hours): a clear error, and UTC still works.
func testAggregateInATimeZone(t *testing.T, h Harness) {
	ctx := t.Context()
	db, _ := h.openDB(t, h.Fast...)
	newYork, err1 := time.LoadLocation("America/New_York")
	kathmandu, err2 := time.LoadLocation("Asia/Kathmandu")
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	zones := []*time.Location{newYork, kathmandu, time.FixedZone("UTC-3:30", -(3*3600 + 1800)), time.UTC}
	rng := rand.New(rand.NewPCG(5, 45))
	spans := [][2]time.Time{ // around 2026-03-08 and 2026-11-01 in New York
		{time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 10, 29, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC)},
	}
	var rows []tierRow
	var recs []rechist.Record[json.RawMessage]
	seen := map[int64]bool{}
	for _, sp := range spans {
		for range 1500 {
			at := sp[0].Add(time.Duration(rng.Int64N(int64(sp[1].Sub(sp[0]))))).Truncate(time.Millisecond)
			if seen[at.UnixMilli()] {
				continue
			}
			seen[at.UnixMilli()] = true
			v := math.Round(rng.NormFloat64()*2000) / 100
			rows = append(rows, tierRow{at: at, v: v})
			recs = append(recs, rechist.Record[json.RawMessage]{Name: "z::raw", StoredAt: at,
				Value: json.RawMessage(fmt.Sprintf(`{"v":%s}`, strconv.FormatFloat(v, 'g', -1, 64)))})
		}
	}
	if err := rechist.NewRepo[json.RawMessage](db).StoreMany(ctx, recs); err != nil {
		t.Fatal(err)
	}
	check := func(name, what string, loc *time.Location, every time.Duration, wantTier time.Duration) {
		t.Helper()
		for _, sp := range spans {
			got, err := db.Aggregate(ctx, name, rechist.AggregateParams{Field: "v", Every: every, Start: sp[0], End: sp[1], Location: loc})
			if err != nil {
				t.Fatalf("%s: Aggregate(%s, every %v, in %v): %v", what, name, every, loc, err)
			}
			if len(got) != 1 || got[0].Tier != wantTier {
				t.Fatalf("%s: Aggregate(%s, every %v, in %v): %d series, tier %v; want one, tier %v", what, name, every, loc, len(got), tierOf(got), wantTier)
			}
			want := refBucketsBy(rows, func(at time.Time) int64 { return zoneBucketOf(at, loc, every) }, sp[0], sp[1])
			if g := bucketsText(got[0].Buckets); g != bucketsText(want) {
				t.Fatalf("%s: Aggregate(%s, every %v, in %v) =\n%s\nwant\n%s", what, name, every, loc, g, bucketsText(want))
			}
		}
	}
	for _, loc := range zones {
		for _, every := range []time.Duration{15 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour} {
			check("z::raw", "raw rows", loc, every, 0)
		}
	}
	// A day in New York holds 23 and 25 hours on its clock changes.
	got, err := db.Aggregate(ctx, "z::raw", rechist.AggregateParams{Field: "v", Every: 24 * time.Hour, Start: spans[0][0], End: spans[0][1], Location: newYork})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(got[0].Buckets); i++ {
		prev, b := got[0].Buckets[i-1].Start, got[0].Buckets[i].Start
		if b.In(newYork).Hour() != 0 || b.In(newYork).Minute() != 0 {
			t.Fatalf("a New York day bucket starts at %v", b.In(newYork))
		}
		if prev.In(newYork).Day() == 8 && b.Sub(prev) != 23*time.Hour {
			t.Fatalf("the day of the spring change lasts %v, want 23h", b.Sub(prev))
		}
	}

	// The same rows under a policy whose raw rows are gone: an hourly tier.
	var tiered []rechist.Record[json.RawMessage]
	for _, r := range recs {
		r.Name = "z::tiered"
		tiered = append(tiered, r)
	}
	if err := db.SetPolicy(ctx, rechist.Policy{Pattern: "z::tiered", Raw: 24 * time.Hour, Tiers: []rechist.Tier{{Every: time.Hour}}}); err != nil {
		t.Fatal(err)
	}
	if err := rechist.NewRepo[json.RawMessage](db).StoreMany(ctx, tiered); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyRetention(ctx); err != nil {
		t.Fatal(err)
	}
	for _, every := range []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour} {
		check("z::tiered", "tier", newYork, every, time.Hour)
		check("z::tiered", "tier", time.UTC, every, time.Hour)
	}
	_, err = db.Aggregate(ctx, "z::tiered", rechist.AggregateParams{Field: "v", Every: 24 * time.Hour, Start: spans[0][0], End: spans[0][1], Location: kathmandu})
	if !errors.Is(err, rechist.ErrInvalidArgument) || !strings.Contains(err.Error(), "aggregate in UTC") {
		t.Fatalf("Kathmandu's days from an hourly tier, raw rows gone: %v; want ErrInvalidArgument saying to aggregate in UTC", err)
	}
}

// tierOf lists the series' tiers, for a message.
func tierOf(ss []rechist.Series) []time.Duration {
	var out []time.Duration
	for _, s := range ss {
		out = append(out, s.Tier)
	}
	return out
}
