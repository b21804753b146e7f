package rechisthttp

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// tierRow is one row of the tiers' test record.
type tierRow struct {
	ms                int64
	celsius, humidity float64
}

// tierData stores a row every 30 s (on the half minute and the minute:
// rows on window boundaries) for five hours into a record whose policy
// keeps raw rows an hour, with 1m and 1h tiers, then applies it: the
// raw rows of the first four hours are gone, the tiers hold them.
func tierData(t *testing.T) (*Handler, []tierRow, time.Time) {
	t.Helper()
	db := openDB(t)
	if err := db.SetPolicy(t.Context(), rechist.Policy{Pattern: "t::*", Raw: time.Hour,
		Tiers: []rechist.Tier{{Every: time.Minute}, {Every: time.Hour}}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Truncate(time.Hour).Add(-5 * time.Hour) // the rows end before the hour now is in
	var rows []tierRow
	for i := range 5 * 120 {
		r := tierRow{ms: start.Add(time.Duration(i) * 30 * time.Second).UnixMilli(), celsius: float64(i%97) + 0.25, humidity: float64(100 - i%89)}
		rows = append(rows, r)
		store(t, db, "t::a", r.ms, fmt.Sprintf(`{"celsius":%g,"humidity":%g}`, r.celsius, r.humidity))
	}
	if _, err := db.ApplyRetention(t.Context()); err != nil {
		t.Fatal(err)
	}
	infos, err := db.Records(t.Context(), "t::a")
	if err != nil || len(infos) != 1 || infos[0].Rows > 120 { // Raw 1h: at most the last hour's rows
		t.Fatalf("after retention: %+v, %v; want the first four hours' raw rows gone", infos, err)
	}
	return NewHandler(db), rows, start
}

// promMatrix runs a range query and returns its series' values by field.
func promMatrix(t *testing.T, h *Handler, query string, start, end time.Time, step time.Duration) map[string]map[int64]float64 {
	t.Helper()
	code, a := promGet(t, h, "GET", "/api/v1/query_range", url.Values{"query": {query},
		"start": {strconv.FormatInt(start.Unix(), 10)}, "end": {strconv.FormatInt(end.Unix(), 10)}, "step": {step.String()}})
	var data struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	}
	if err := json.Unmarshal(a.Data, &data); code != 200 || err != nil {
		t.Fatalf("%s: %d %+v, %v", query, code, a, err)
	}
	out := map[string]map[int64]float64{}
	for _, s := range data.Result {
		vals := map[int64]float64{}
		for _, v := range s.Values {
			x, _ := strconv.ParseFloat(v[1].(string), 64)
			vals[int64(v[0].(float64))] = x
		}
		out[s.Metric[promField]] = vals
	}
	return out
}

// Where raw rows are gone, *_over_time over windows of whole tier
// buckets is answered from the tiers, exactly: each window [end-range,
// end) of the rows computed here from every row stored. A window the
// tiers do not tile has no answer there.
func TestPromOverTimeFromTiersWhereRawRowsAreGone(t *testing.T) {
	h, rows, start := tierData(t)
	end := start.Add(4 * time.Hour) // the last window before any raw row
	ref := func(field string, from, to int64, fold func(acc, x float64, n int) float64) (float64, bool) {
		acc, n := 0.0, 0
		for _, r := range rows {
			if r.ms >= from && r.ms < to {
				x := r.celsius
				if field == "humidity" {
					x = r.humidity
				}
				acc = fold(acc, x, n)
				n++
			}
		}
		return acc, n > 0
	}
	maxF := func(acc, x float64, n int) float64 {
		if n == 0 {
			return x
		}
		return math.Max(acc, x)
	}
	sumF := func(acc, x float64, _ int) float64 { return acc + x }
	for _, c := range []struct {
		query        string
		rangeW, step time.Duration
		fold         func(acc, x float64, n int) float64
		avg          bool
	}{
		{"max_over_time(t::a[1h])", time.Hour, time.Hour, maxF, false},
		{"max_over_time({record=\"t::a\"}[2h])", 2 * time.Hour, time.Hour, maxF, false},
		{"sum_over_time(t::a[5m])", 5 * time.Minute, 5 * time.Minute, sumF, false},
		{"avg_over_time(t::a[1m])", time.Minute, 10 * time.Minute, sumF, true},
	} {
		got := promMatrix(t, h, c.query, start.Add(c.rangeW), end, c.step)
		for _, field := range []string{"celsius", "humidity"} {
			n := 0
			for e := start.Add(c.rangeW); !e.After(end); e = e.Add(c.step) {
				want, ok := ref(field, e.Add(-c.rangeW).UnixMilli(), e.UnixMilli(), c.fold)
				if c.avg {
					count, _ := ref(field, e.Add(-c.rangeW).UnixMilli(), e.UnixMilli(), func(acc, _ float64, _ int) float64 { return acc + 1 })
					want /= count
				}
				x, have := got[field][e.Unix()]
				if !ok || !have || math.Abs(x-want) > 1e-9 {
					t.Errorf("%s %s at %v: %v (present %v), want %v", c.query, field, e.Sub(start), x, have, want)
				}
				n++
			}
			if len(got[field]) != n {
				t.Errorf("%s %s: %d points, want %d", c.query, field, len(got[field]), n)
			}
		}
	}
	// 90s is no multiple of a tier's width, and rate needs every sample:
	// nothing where the raw rows are gone.
	for _, q := range []string{"max_over_time(t::a[90s])", "rate(t::a[1h])"} {
		if got := promMatrix(t, h, q, start.Add(time.Hour), end, time.Hour); len(got) != 0 {
			t.Errorf("%s before the raw rows: %v, want nothing", q, got)
		}
	}
}
