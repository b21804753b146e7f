package rechisttest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// tierRow is a row of the shadow copy: every row stored and not removed by
// Delete, whatever retention did since.
type tierRow struct {
	at time.Time
	v  float64
}

// refBuckets aggregates rows as Aggregate must: buckets of every aligned
// to the Unix epoch within [start, end], the exact sum of the shortest
// decimals rounded once, first and last by time (times are unique).
func refBuckets(rows []tierRow, every time.Duration, start, end time.Time) []rechist.Bucket {
	return refBucketsBy(rows, func(t time.Time) int64 { return t.UnixMilli() / every.Milliseconds() * every.Milliseconds() }, start, end)
}

// refBucketsBy is refBuckets with the bucket of a row's time given by
// bucket (its start in Unix ms).
func refBucketsBy(rows []tierRow, bucket func(time.Time) int64, start, end time.Time) []rechist.Bucket {
	type acc struct {
		n           int64
		lo, hi      float64
		sum         *big.Rat
		first, last tierRow
		startMs     int64
	}
	by := map[int64]*acc{}
	for _, r := range rows {
		if r.at.Before(start) || r.at.After(end) {
			continue
		}
		b := bucket(r.at)
		a := by[b]
		if a == nil {
			a = &acc{lo: r.v, hi: r.v, sum: new(big.Rat), first: r, last: r, startMs: b}
			by[b] = a
		}
		a.n++
		a.lo, a.hi = min(a.lo, r.v), max(a.hi, r.v)
		d, _ := new(big.Rat).SetString(strconv.FormatFloat(r.v, 'g', -1, 64))
		a.sum.Add(a.sum, d)
		if r.at.Before(a.first.at) {
			a.first = r
		}
		if r.at.After(a.last.at) {
			a.last = r
		}
	}
	var out []rechist.Bucket
	for _, a := range by {
		sum, _ := a.sum.Float64()
		mean, _ := new(big.Rat).Quo(a.sum, new(big.Rat).SetInt64(a.n)).Float64()
		out = append(out, rechist.Bucket{Start: time.UnixMilli(a.startMs).UTC(), Count: a.n, Min: a.lo, Max: a.hi,
			Sum: sum, Mean: mean, First: a.first.v, Last: a.last.v})
	}
	slices.SortFunc(out, func(x, y rechist.Bucket) int { return x.Start.Compare(y.Start) })
	return out
}

func bucketsText(bs []rechist.Bucket) string {
	s := ""
	for _, b := range bs {
		s += fmt.Sprintf("[%d n%d %v..%v sum%v mean%v %v>%v]", b.Start.UnixMilli(), b.Count, b.Min, b.Max, b.Sum, b.Mean, b.First, b.Last)
	}
	return s
}

// The tiers equal, at every step, what the raw rows would give had none
// been deleted: random stores (late ones too, to buckets long rolled up),
// retention passes that delete raw rows, Deletes of whole buckets, and
// rollups at random moments; each step compared with a shadow copy of all
// rows through Aggregate, which must answer from the tiers once the raw
// rows are gone (Series.Tier) and from either where both are there.
func testTiersMatchAReference(t *testing.T, h Harness) {
	ctx := t.Context()
	db, _ := h.openDB(t)
	rng := rand.New(rand.NewPCG(21, 7))
	now := time.Now().Truncate(time.Hour)
	const raw = 2 * time.Hour
	tiers := []rechist.Tier{{Every: time.Minute}, {Every: 10 * time.Minute}, {Every: time.Hour}}
	if err := db.SetPolicy(ctx, rechist.Policy{Pattern: "t::*", Raw: raw, Tiers: tiers}); err != nil {
		t.Fatal(err)
	}
	names := []string{"t::a", "t::b", "t::c"}
	shadow := map[string][]tierRow{}
	used := map[string]map[int64]bool{} // times taken per record: times are unique
	r := rechist.NewRepo[json.RawMessage](db)
	var many []rechist.Record[json.RawMessage] // pooled for one StoreMany, when not nil
	store := func(name string, at time.Time) {
		ms := at.UnixMilli()
		if used[name] == nil {
			used[name] = map[int64]bool{}
		}
		if used[name][ms] {
			return
		}
		used[name][ms] = true
		var v float64
		switch rng.IntN(3) {
		case 0:
			v = math.Round(rng.NormFloat64()*2000) / 100
		case 1:
			v = rng.NormFloat64() * 1e9
		default:
			v = float64(rng.IntN(100))
		}
		js := fmt.Sprintf(`{"v":%s,"s":"x"}`, strconv.FormatFloat(v, 'g', -1, 64))
		if many != nil {
			many = append(many, rechist.Record[json.RawMessage]{Name: name, Value: json.RawMessage(js), StoredAt: at})
		} else if err := r.StoreAt(ctx, name, json.RawMessage(js), at); err != nil {
			t.Fatal(err)
		}
		shadow[name] = append(shadow[name], tierRow{at: at, v: v})
	}
	check := func(step int) {
		t.Helper()
		for _, name := range names {
			for _, every := range []time.Duration{time.Minute, 10 * time.Minute, time.Hour, 2 * time.Hour} {
				start, end := now.Add(-12*time.Hour), now.Add(time.Hour)
				got, err := db.Aggregate(ctx, name, rechist.AggregateParams{Field: "v", Every: every, Start: start, End: end})
				if err != nil {
					t.Fatalf("step %d: Aggregate(%s, %v): %v", step, name, every, err)
				}
				var gb []rechist.Bucket
				if len(got) == 1 {
					gb = got[0].Buckets
				}
				want := refBuckets(shadow[name], every, start, end)
				if bucketsText(gb) != bucketsText(want) {
					t.Fatalf("step %d: Aggregate(%s, every %v) =\n%s\nwant\n%s", step, name, every, bucketsText(gb), bucketsText(want))
				}
			}
		}
	}
	for step := range 40 {
		op := rng.IntN(10)
		t.Logf("step %d op %d", step, op)
		switch {
		case op < 5: // stores, some late: up to 10 hours back; one by one or in one StoreMany
			if rng.IntN(2) == 0 {
				many = []rechist.Record[json.RawMessage]{}
			}
			for range 1 + rng.IntN(30) {
				name := names[rng.IntN(len(names))]
				back := time.Duration(rng.Int64N(int64(10 * time.Hour)))
				store(name, now.Add(-back).Truncate(time.Millisecond))
			}
			if many != nil {
				if err := r.StoreMany(ctx, many); err != nil {
					t.Fatal(err)
				}
				many = nil
			}
		case op < 7:
			if _, err := db.ApplyRetention(ctx); err != nil {
				t.Fatal(err)
			}
		case op < 8: // a Delete of whole hours: whole buckets of every tier
			name := names[rng.IntN(len(names))]
			from := now.Add(-time.Duration(1+rng.IntN(10)) * time.Hour)
			to := from.Add(time.Duration(1+rng.IntN(2))*time.Hour - time.Millisecond)
			if _, err := db.Delete(ctx, name, rechist.QueryParams{Start: from, End: to}); err != nil {
				t.Fatal(err)
			}
			shadow[name] = slices.DeleteFunc(shadow[name], func(r tierRow) bool { return !r.at.Before(from) && !r.at.After(to) })
		default:
			if _, err := db.RollUp(ctx); err != nil {
				t.Fatal(err)
			}
		}
		check(step)
	}
	// Once retention has run, the old hours come from the tiers.
	if _, err := db.ApplyRetention(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := db.Aggregate(ctx, "t::a", rechist.AggregateParams{Field: "v", Every: time.Hour, Start: now.Add(-12 * time.Hour), End: now.Add(time.Hour)})
	if err != nil || len(got) != 1 || got[0].Tier != time.Hour {
		t.Fatalf("Aggregate over the old hours: %+v, %v; want one series served by the 1h tier", got, err)
	}
	// A width no tier divides, where raw rows are gone: a clear error.
	_, err = db.Aggregate(ctx, "t::a", rechist.AggregateParams{Field: "v", Every: 90 * time.Second, Start: now.Add(-12 * time.Hour)})
	if !errors.Is(err, rechist.ErrInvalidArgument) {
		t.Fatalf("Aggregate every 90s over deleted raw rows: %v, want ErrInvalidArgument naming the widths", err)
	}
}

// aggEqual compares one record's Aggregate with the reference of rows.
func aggEqual(t *testing.T, db *rechist.DB, what, name string, rows []tierRow, every time.Duration, start, end time.Time) rechist.Series {
	t.Helper()
	got, err := db.Aggregate(t.Context(), name, rechist.AggregateParams{Field: "v", Every: every, Start: start, End: end})
	if err != nil {
		t.Fatalf("%s: Aggregate(%s, every %v): %v", what, name, every, err)
	}
	var s rechist.Series
	if len(got) == 1 {
		s = got[0]
	}
	if want := refBuckets(rows, every, start, end); bucketsText(s.Buckets) != bucketsText(want) {
		t.Fatalf("%s: Aggregate(%s, every %v) =\n%s\nwant\n%s", what, name, every, bucketsText(s.Buckets), bucketsText(want))
	}
	return s
}

// Rows another program writes straight into the table (the Rust crate)
// come above the cursor and roll up as the writer's own: retention then
// deletes them and the tiers answer for them.
func testTiersRollUpOtherWritersRows(t *testing.T, h Harness) {
	ctx := t.Context()
	db, dsn := h.openDB(t)
	if err := db.SetPolicy(ctx, rechist.Policy{Pattern: "crate::*", Raw: time.Hour,
		Tiers: []rechist.Tier{{Every: time.Minute}, {Every: time.Hour}}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Hour)
	var rows []tierRow
	for i := range 50 {
		at := now.Add(-5 * time.Hour).Add(time.Duration(i) * 97 * time.Second)
		v := float64(i) / 10
		h.InsertRaw(t, dsn, "crate::x", fmt.Sprintf(`{"v":%s}`, strconv.FormatFloat(v, 'g', -1, 64)), at.UnixMilli())
		rows = append(rows, tierRow{at: at, v: v})
	}
	if n, err := db.RollUp(ctx); err != nil || n != 50 {
		t.Fatalf("RollUp = %d, %v; want the 50 rows another program wrote", n, err)
	}
	if n, err := db.ApplyRetention(ctx); err != nil || n != 50 {
		t.Fatalf("ApplyRetention = %d, %v; want the 50 rows, all older than an hour", n, err)
	}
	start, end := now.Add(-6*time.Hour), now
	if s := aggEqual(t, db, "after retention", "crate::x", rows, time.Hour, start, end); s.Tier != time.Hour {
		t.Fatalf("served by %v, want the 1h tier", s.Tier)
	}
	aggEqual(t, db, "after retention", "crate::x", rows, time.Minute, start, end)
}

// A tier added later is filled from a finer tier the records have (so it
// holds the rows retention has deleted too), and a tier dropped from the
// policy goes: an aggregation that needed it then names the widths left.
func testTiersPolicyChange(t *testing.T, h Harness) {
	ctx := t.Context()
	db, _ := h.openDB(t)
	pol := rechist.Policy{Pattern: "pc::*", Raw: time.Hour, Tiers: []rechist.Tier{{Every: time.Minute}}}
	if err := db.SetPolicy(ctx, pol); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Hour)
	r := rechist.NewRepo[json.RawMessage](db)
	var rows []tierRow
	for i := range 120 {
		at := now.Add(-4 * time.Hour).Add(time.Duration(i) * 73 * time.Second)
		v := math.Round(float64(i)*1.37*100) / 100
		if err := r.StoreAt(ctx, "pc::a", json.RawMessage(fmt.Sprintf(`{"v":%v}`, v)), at); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, tierRow{at: at, v: v})
	}
	if _, err := db.ApplyRetention(ctx); err != nil {
		t.Fatal(err)
	}
	start, end := now.Add(-5*time.Hour), now
	// Hours from the minute tier (no hour tier yet).
	if s := aggEqual(t, db, "minute tier", "pc::a", rows, time.Hour, start, end); s.Tier != time.Minute {
		t.Fatalf("served by %v, want the 1m tier", s.Tier)
	}
	pol.Tiers = append(pol.Tiers, rechist.Tier{Every: time.Hour})
	if err := db.SetPolicy(ctx, pol); err != nil {
		t.Fatal(err)
	}
	if s := aggEqual(t, db, "hour tier added", "pc::a", rows, time.Hour, start, end); s.Tier != time.Hour {
		t.Fatalf("served by %v, want the new 1h tier", s.Tier)
	}
	pol.Tiers = pol.Tiers[1:] // only the hour
	if err := db.SetPolicy(ctx, pol); err != nil {
		t.Fatal(err)
	}
	aggEqual(t, db, "minute tier dropped", "pc::a", rows, 2*time.Hour, start, end)
	_, err := db.Aggregate(ctx, "pc::a", rechist.AggregateParams{Field: "v", Every: time.Minute, Start: start, End: end})
	if !errors.Is(err, rechist.ErrInvalidArgument) {
		t.Fatalf("every 1m after the minute tier went: %v, want ErrInvalidArgument", err)
	}
}

// A tier filled from raw rows is filled one record a transaction after
// the policy's own (so a big file's fill never holds the writer past the
// batch timeout), and SetPolicy returns once all are filled, each exact.
func testTiersFilledRecordByRecord(t *testing.T, h Harness) {
	ctx := t.Context()
	db, _ := h.openDB(t)
	const records = 40
	now := time.Now().Truncate(time.Hour)
	rows := map[string][]tierRow{}
	type value struct {
		V float64 `json:"v"`
	}
	var recs []rechist.Record[value]
	for i := range records * 30 {
		name := fmt.Sprintf("fr::%02d", i%records)
		at := now.Add(-3 * time.Hour).Add(time.Duration(i) * 7 * time.Second)
		v := float64(i%97) / 4
		recs = append(recs, rechist.Record[value]{Name: name, Value: value{v}, StoredAt: at})
		rows[name] = append(rows[name], tierRow{at: at, v: v})
	}
	if err := rechist.NewRepo[value](db).StoreMany(ctx, recs); err != nil {
		t.Fatal(err)
	}
	before := db.Stats().Batches
	if err := db.SetPolicy(ctx, rechist.Policy{Pattern: "fr::*", Tiers: []rechist.Tier{{Every: time.Minute}}}); err != nil {
		t.Fatal(err)
	}
	if n := db.Stats().Batches - before; n < records+1 {
		t.Fatalf("SetPolicy took %d write transactions, want one for the policy and one a record (%d)", n, records)
	}
	for name, rs := range rows {
		if s := aggEqual(t, db, "filled", name, rs, time.Minute, now.Add(-4*time.Hour), now); s.Tier != time.Minute {
			t.Fatalf("%s served by %v, want the 1m tier", name, s.Tier)
		}
	}
}

// Bad tiers are refused with ErrInvalidArgument and store nothing.
func testTiersBadInput(t *testing.T, h Harness) {
	ctx := t.Context()
	db, _ := h.openDB(t)
	for _, p := range []rechist.Policy{
		{Pattern: "x", Raw: time.Hour, Tiers: []rechist.Tier{{Every: 500 * time.Millisecond}}},
		{Pattern: "x", Raw: time.Hour, Tiers: []rechist.Tier{{Every: 1500 * time.Millisecond}}},
		{Pattern: "x", Raw: time.Hour, Tiers: []rechist.Tier{{Every: time.Hour}, {Every: time.Minute}}},
		{Pattern: "x", Raw: time.Hour, Tiers: []rechist.Tier{{Every: time.Minute}, {Every: 90 * time.Second}}},
		{Pattern: "x", Raw: 48 * time.Hour, Tiers: []rechist.Tier{{Every: time.Hour, Keep: 24 * time.Hour}}},
		{Pattern: "x", Raw: 0, Tiers: []rechist.Tier{{Every: time.Hour, Keep: 24 * time.Hour}}},
		{Pattern: "x", Raw: time.Hour, Tiers: []rechist.Tier{{Every: time.Hour, Keep: -time.Hour}}},
		{Pattern: "x", Raw: time.Hour, Tiers: slices.Repeat([]rechist.Tier{{Every: time.Minute}}, 9)},
	} {
		if err := db.SetPolicy(ctx, p); !errors.Is(err, rechist.ErrInvalidArgument) {
			t.Errorf("SetPolicy(%+v): %v, want ErrInvalidArgument", p.Tiers, err)
		}
	}
	if got, err := db.Policies(ctx); err != nil || len(got) != 0 {
		t.Fatalf("after bad tiers: %d policies, %v", len(got), err)
	}
}

// A device that keeps raw rows a day pushes its backlog, late rows of
// last week included, into a server that keeps hourly tiers forever: the
// server rolls up what arrives, whatever its age, and answers for it once
// its own retention has deleted the raw rows.
func testTiersSyncBacklog(t *testing.T, h Harness) {
	ctx := t.Context()
	device, _ := h.openDB(t, h.Fast...)
	server, _ := h.openDB(t, h.Fast...)
	if err := device.SetPolicy(ctx, rechist.Policy{Pattern: "*", Raw: 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := server.SetPolicy(ctx, rechist.Policy{Pattern: "dev.*", Raw: time.Hour, Tiers: []rechist.Tier{{Every: time.Hour}}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Hour)
	r := rechist.NewRepo[json.RawMessage](device)
	var rows []tierRow
	for i := range 100 {
		at := now.Add(-20 * time.Hour).Add(time.Duration(i) * 11 * time.Minute) // the last 20 hours
		v := float64(i%17) + 0.25
		if err := r.StoreAt(ctx, "t", json.RawMessage(fmt.Sprintf(`{"v":%v}`, v)), at); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, tierRow{at: at, v: v})
	}
	if _, err := rechist.Sync(ctx, device, server, rechist.SyncPrefix("dev.")); err != nil {
		t.Fatal(err)
	}
	if _, err := server.ApplyRetention(ctx); err != nil {
		t.Fatal(err)
	}
	if s := aggEqual(t, server, "server after its retention", "dev.t", rows, time.Hour, now.Add(-21*time.Hour), now); s.Tier != time.Hour {
		t.Fatalf("served by %v, want the 1h tier", s.Tier)
	}
}

// A record whose raw rows retention deleted is still listed by Records and
// Names while its tiers hold history: its span from the rows its buckets
// keep (their times are exact), its tiers and its fields; a record with
// raw rows gets its span widened back to the oldest rolled-up row.
func testTiersListed(t *testing.T, h Harness) {
	ctx := t.Context()
	db, _ := h.openDB(t)
	if err := db.SetPolicy(ctx, rechist.Policy{Pattern: "ls::*", Raw: time.Hour,
		Tiers: []rechist.Tier{{Every: time.Minute}, {Every: time.Hour}}}); err != nil {
		t.Fatal(err)
	}
	// ls::kept's newest row, a minute old whenever the test runs (an hour
	// and a minute before time.Now().Truncate(time.Hour), as it was, is
	// older than the hour of raw rows kept during the last minute of each
	// hour: CI deleted it at 15:59 UTC).
	recent := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	r := rechist.NewRepo[json.RawMessage](db)
	// Both of ls::gone's rows in one block of the hourly tier (eight hours
	// from the epoch; time.Truncate's zero is a multiple of them), the
	// previous one: its newest block holds both rows' fields whatever the
	// time of day. (Five and three hours ago, they fell in two blocks
	// from 08:00 to 10:00 UTC.)
	block := time.Now().Truncate(8 * time.Hour).Add(-8 * time.Hour)
	first := block.Add(time.Hour).Add(17 * time.Second)
	last := block.Add(3 * time.Hour).Add(-17 * time.Second)
	for _, c := range []struct {
		name string
		at   time.Time
		v    string
	}{{"ls::gone", first, `{"a":1,"b":{"c":2},"s":"x"}`}, {"ls::gone", last, `{"a":3}`},
		{"ls::kept", first, `5`}, {"ls::kept", recent, `6`}} {
		if err := r.StoreAt(ctx, c.name, json.RawMessage(c.v), c.at); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.RollUp(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := db.ApplyRetention(ctx); err != nil || n != 3 {
		t.Fatalf("ApplyRetention = %d, %v; want 3 rows", n, err)
	}
	recs, err := db.Records(ctx, "ls::*")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("Records: %+v, want ls::gone and ls::kept", recs)
	}
	tiers := []time.Duration{time.Minute, time.Hour}
	gone, kept := recs[0], recs[1]
	if gone.Name != "ls::gone" || gone.Rows != 0 || !gone.First.Equal(first) || !gone.Last.Equal(last) ||
		!slices.Equal(gone.Tiers, tiers) || !slices.Equal(gone.Fields, []string{"a", "b.c"}) {
		t.Errorf("the record left in its tiers: %+v; want no rows, %v to %v, tiers %v, fields a and b.c", gone, first, last, tiers)
	}
	if kept.Name != "ls::kept" || kept.Rows != 1 || !kept.First.Equal(first) || !kept.Last.Equal(recent) ||
		!slices.Equal(kept.Tiers, tiers) || !slices.Equal(kept.Fields, []string{""}) {
		t.Errorf("the record with a raw row left: %+v; want 1 row, from %v (rolled up) to its raw row", kept, first)
	}
	usage, err := db.TierUsage(ctx)
	if err != nil || len(usage) != 4 {
		t.Fatalf("TierUsage = %+v, %v; want two tiers of two records", usage, err)
	}
	for i, u := range usage {
		// A block is at least 9 bytes: a bucket of one row is the row's
		// time, id and JSON, and the block's header.
		if u.Name != []string{"ls::gone", "ls::gone", "ls::kept", "ls::kept"}[i] || u.Every != tiers[i%2] || u.Blocks < 1 || u.Blocks > 2 || u.Bytes < 9*u.Blocks {
			t.Errorf("TierUsage[%d] = %+v", i, u)
		}
	}
	names, err := db.Names(ctx, "ls::*")
	if err != nil || !slices.Equal(names, []string{"ls::gone", "ls::kept"}) {
		t.Errorf("Names = %q, %v", names, err)
	}
	if _, err := db.Names(ctx, "ls::[bad"); err != nil && !errors.Is(err, rechist.ErrInvalidArgument) {
		t.Errorf("Names of a bad pattern: %v", err)
	}
}
