package bench

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/seed178a96f3/rechist"
)

// The aggregate files hold per-minute temperatures, {"celsius": 12.34}:
// one record over a year, summarised into days, and 24 records over a
// week, summarised into hours. The year's file also holds what a rollup
// job would keep for that record (not something rechist does): a 5-minute
// and an hourly record whose rows carry n, min, max, sum, first and last
// of their period, to measure what answering the year from them would buy.
const (
	minuteMs     = int64(time.Minute / time.Millisecond)
	dayMs        = 24 * 60 * minuteMs
	yearMinutes  = 365 * 24 * 60 // 525,600
	weekMinutes  = 7 * 24 * 60   // 10,080
	weekRecords  = 24
	yearRecord   = "temp::outdoor"
	roomPattern  = "temp::room*"
	rollup5m     = "rollup.5m::temp::outdoor"
	rollup1h     = "rollup.1h::temp::outdoor"
	rollup5mSpan = 5
	rollup1hSpan = 60
)

// aggStart is the first minute of the aggregate files, a UTC midnight
// (days and hours are aligned to the Unix epoch) about 400 days ago.
var aggStart = (time.Now().UnixMilli()/dayMs - 400) * dayMs

// celsius is the value of minute i of record rec: a yearly and a daily
// cycle and some noise, with two decimals, as text and as the float64 its
// JSON decodes to.
func celsius(rec, i int) (string, float64) {
	day, m := float64(i/1440), float64(i%1440)
	v := 8 + 10*math.Sin(2*math.Pi*(day-100)/365) + 6*math.Sin(2*math.Pi*(m-480)/1440) + float64(rec)/10
	v += float64(splitmix(uint64(rec)<<32|uint64(i))%1000)/1000 - 0.5
	s := strconv.FormatFloat(v, 'f', 2, 64)
	f, _ := strconv.ParseFloat(s, 64)
	return s, f
}

// splitmix is SplitMix64's mixing function: cheap deterministic noise.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// rollupJSON summarises minutes from..from+span-1 of record 0 as a rollup
// row would: {"n","min","max","sum","first","last"}.
func rollupJSON(from, span int) string {
	var mn, mx, sum, first, last float64
	for i := from; i < from+span; i++ {
		_, v := celsius(0, i)
		if i == from {
			mn, mx, first = v, v, v
		}
		mn, mx, sum, last = min(mn, v), max(mx, v), sum+v, v
	}
	g := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	return fmt.Sprintf(`{"n":%d,"min":%s,"max":%s,"sum":%s,"first":%s,"last":%s}`, span, g(mn), g(mx), g(sum), g(first), g(last))
}

// buildYear writes the year's file: the per-minute record, then its
// 5-minute and hourly rollups.
func (r *runner) buildYear(ctx context.Context, path string) error {
	n5, n1h := yearMinutes/rollup5mSpan, yearMinutes/rollup1hSpan
	r.progress("building %s with %d rows (a year per minute) and %d + %d rollup rows", path, yearMinutes, n5, n1h)
	return buildWith(ctx, path, yearMinutes+n5+n1h, func(i int) (string, string, int64) {
		switch {
		case i < yearMinutes:
			s, _ := celsius(0, i)
			return yearRecord, `{"celsius":` + s + `}`, aggStart + int64(i)*minuteMs
		case i < yearMinutes+n5:
			j := (i - yearMinutes) * rollup5mSpan
			return rollup5m, rollupJSON(j, rollup5mSpan), aggStart + int64(j)*minuteMs
		default:
			j := (i - yearMinutes - n5) * rollup1hSpan
			return rollup1h, rollupJSON(j, rollup1hSpan), aggStart + int64(j)*minuteMs
		}
	})
}

// buildWeek writes 24 records × a week per minute, interleaved in time as
// 24 sensors would write them.
func (r *runner) buildWeek(ctx context.Context, path string) error {
	r.progress("building %s with %d records × %d minutes", path, weekRecords, weekMinutes)
	return buildWith(ctx, path, weekRecords*weekMinutes, func(i int) (string, string, int64) {
		rec, m := i%weekRecords, i/weekRecords
		s, _ := celsius(rec, m)
		return fmt.Sprintf("temp::room%02d", rec), `{"celsius":` + s + `}`, aggStart + int64(m)*minuteMs
	})
}

// aggregateScenarios times DB.Aggregate against fetching the same rows
// with Repo.All and summarising them in Go, and answering the year's days
// from rollup rows, as a rollup job would keep them, against Aggregate
// over the raw rows.
func (r *runner) aggregateScenarios(ctx context.Context) error {
	runs := max(5, r.cfg.QueryRuns/10)
	year, week := r.path("agg-year.db"), r.path("agg-week.db")
	if err := r.buildYear(ctx, year); err != nil {
		return err
	}
	if err := r.buildWeek(ctx, week); err != nil {
		return err
	}
	var rawYear time.Duration
	for _, sc := range []struct {
		label, path, pattern string
		every                time.Duration
		rows                 int
	}{
		{"Aggregate(temp::outdoor, celsius, 24h), a year per minute", year, yearRecord, 24 * time.Hour, yearMinutes},
		{"Aggregate(temp::room*, celsius, 1h), 24 records × a week per minute", week, roomPattern, time.Hour, weekRecords * weekMinutes},
	} {
		h, err := rechist.Open(ctx, sc.path, rechist.WithReadOnly())
		if err != nil {
			return err
		}
		var ours, theirs []rechist.Series
		p := rechist.AggregateParams{Field: "celsius", Every: sc.every}
		r.progress("aggregate: %s", sc.label)
		oursLat, theirsLat, err := alternate(runs, func() (err error) {
			ours, err = h.Aggregate(ctx, sc.pattern, p)
			return err
		}, func() (err error) {
			theirs, err = goAggregate(ctx, h, sc.pattern, sc.every)
			return err
		})
		if err == nil {
			err = sameSeries(ours, theirs)
		}
		if cerr := h.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("aggregate %s: %w", sc.label, err)
		}
		o, t := oursLat.median(), theirsLat.median()
		if sc.pattern == yearRecord {
			rawYear = o
		}
		buckets := 0
		for _, s := range ours {
			buckets += len(s.Buckets)
		}
		r.t.add(sc.label, ms(o), ms(t), ratio(float64(t), float64(o)),
			fmt.Sprintf("speed-up over All + encoding/json + Go; %d rows into %d buckets; %s per 1M rows scanned (Go: %s); medians of %d",
				sc.rows, buckets, perMillion(o, sc.rows), perMillion(t, sc.rows), runs))
	}
	return r.rollupScenarios(ctx, year, rawYear, runs)
}

// rollupScenarios answers the year's daily buckets from the 5-minute and
// the hourly rollup records (Repo.All and a merge in Go), checks that the
// answer is Aggregate's over the raw rows, and compares the time with
// rawYear, Aggregate's median over those raw rows.
func (r *runner) rollupScenarios(ctx context.Context, path string, rawYear time.Duration, runs int) error {
	h, err := rechist.Open(ctx, path, rechist.WithReadOnly())
	if err != nil {
		return err
	}
	defer h.Close()
	raw, err := h.Aggregate(ctx, yearRecord, rechist.AggregateParams{Field: "celsius", Every: 24 * time.Hour})
	if err != nil {
		return err
	}
	for _, sc := range []struct {
		name, record string
		rows         int
	}{{"5-minute", rollup5m, yearMinutes / rollup5mSpan}, {"hourly", rollup1h, yearMinutes / rollup1hSpan}} {
		r.progress("aggregate: a year's days from the %s rollup", sc.name)
		var got []rechist.Series
		lat, _, err := timeRuns(runs, func() (int, error) {
			var err error
			got, err = mergeRollup(ctx, h, sc.record, 24*time.Hour)
			return len(got), err
		})
		if err == nil {
			got[0].Name = yearRecord
			err = sameSeries(raw, got)
		}
		if err != nil {
			return fmt.Errorf("aggregate from the %s rollup: %w", sc.name, err)
		}
		r.t.add(fmt.Sprintf("what-if: a year's days from a %s rollup (%d rows)", sc.name, sc.rows), ms(lat.median()), ms(rawYear),
			ratio(float64(rawYear), float64(lat.median())),
			"speed-up over Aggregate of the raw rows; rollup rows a job would keep (not in rechist), All + merge in Go, same seven figures")
	}
	return h.Close()
}

// alternate times a and b runs times each, alternating, so that drift on a
// shared machine hits both, after one untimed run of each: the first run
// on a newly opened file fills SQLite's page cache (a year's Aggregate
// took 0.41 s cold and 0.19 s warm), which a paid for and b then used.
// Each run starts after a full garbage collection, so that neither pays,
// on its clock, for collecting what the other left (a collection set off
// by the Go baseline's garbage could run on into the next Aggregate).
func alternate(runs int, a, b func() error) (latencies, latencies, error) {
	var la, lb latencies
	for _, f := range []func() error{a, b} {
		if err := f(); err != nil {
			return nil, nil, err
		}
	}
	for range runs {
		for _, f := range []struct {
			run func() error
			lat *latencies
		}{{a, &la}, {b, &lb}} {
			runtime.GC()
			t0 := time.Now()
			if err := f.run(); err != nil {
				return nil, nil, err
			}
			*f.lat = append(*f.lat, time.Since(t0))
		}
	}
	return la, lb, nil
}

func perMillion(d time.Duration, rows int) string {
	return ms(time.Duration(float64(d) * 1e6 / float64(rows)))
}

// reading is the Go baseline's view of a value: a pointer, so a row
// without the field is told from a zero.
type reading struct {
	Celsius *float64 `json:"celsius"`
}

// acc accumulates one bucket. Rows come newest first (All's order), so the
// first row seen is the bucket's last and the last seen its first.
type acc struct {
	b    rechist.Bucket
	open bool
}

func (a *acc) add(start time.Time, n int64, mn, mx, sum, first, last float64) {
	if !a.open {
		a.b, a.open = rechist.Bucket{Start: start, Min: mn, Max: mx, Last: last}, true
	}
	a.b.Count += n
	a.b.Min, a.b.Max, a.b.Sum, a.b.First = min(a.b.Min, mn), max(a.b.Max, mx), a.b.Sum+sum, first
}

// goSeries folds a record's rows, newest first, into ascending buckets.
type goSeries struct {
	out   []rechist.Series
	cur   acc
	curMs int64
	every int64
}

func (g *goSeries) row(name string, at time.Time, n int64, mn, mx, sum, first, last float64) {
	b := at.UnixMilli() / g.every * g.every
	if len(g.out) == 0 || g.out[len(g.out)-1].Name != name {
		g.flush()
		g.out = append(g.out, rechist.Series{Name: name})
	} else if b != g.curMs {
		g.flush()
	}
	g.curMs = b
	g.cur.add(time.UnixMilli(b).UTC(), n, mn, mx, sum, first, last)
}

func (g *goSeries) flush() {
	if g.cur.open {
		s := &g.out[len(g.out)-1]
		g.cur.b.Mean = g.cur.b.Sum / float64(g.cur.b.Count)
		s.Buckets = append(s.Buckets, g.cur.b)
		g.cur = acc{}
	}
}

func (g *goSeries) done() []rechist.Series {
	g.flush()
	for _, s := range g.out {
		slices.Reverse(s.Buckets)
	}
	return g.out
}

// goAggregate is the baseline: the rows through Repo.All, their field
// decoded by encoding/json, the seven figures summed up in Go.
func goAggregate(ctx context.Context, h *rechist.DB, pattern string, every time.Duration) ([]rechist.Series, error) {
	g := goSeries{every: every.Milliseconds()}
	for rec, err := range rechist.NewRepo[reading](h).All(ctx, pattern, rechist.QueryParams{}) {
		if err != nil {
			return nil, err
		}
		if v := rec.Value.Celsius; v != nil {
			g.row(rec.Name, rec.StoredAt, 1, *v, *v, *v, *v, *v)
		}
	}
	return g.done(), nil
}

// rollupRow is one row of a rollup record.
type rollupRow struct {
	N     int64   `json:"n"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Sum   float64 `json:"sum"`
	First float64 `json:"first"`
	Last  float64 `json:"last"`
}

// mergeRollup answers buckets of every from a rollup record's rows.
func mergeRollup(ctx context.Context, h *rechist.DB, record string, every time.Duration) ([]rechist.Series, error) {
	g := goSeries{every: every.Milliseconds()}
	for rec, err := range rechist.NewRepo[rollupRow](h).All(ctx, record, rechist.QueryParams{}) {
		if err != nil {
			return nil, err
		}
		v := rec.Value
		g.row(rec.Name, rec.StoredAt, v.N, v.Min, v.Max, v.Sum, v.First, v.Last)
	}
	return g.done(), nil
}

// sameSeries checks that two aggregations agree: the same series and
// buckets, equal counts, the other figures within 1e-9 (sums are added in
// different orders).
func sameSeries(a, b []rechist.Series) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d series against %d", len(a), len(b))
	}
	near := func(x, y float64) bool { return math.Abs(x-y) <= 1e-9*max(1, math.Abs(x), math.Abs(y)) }
	for i := range a {
		if a[i].Name != b[i].Name || len(a[i].Buckets) != len(b[i].Buckets) {
			return fmt.Errorf("series %q with %d buckets against %q with %d", a[i].Name, len(a[i].Buckets), b[i].Name, len(b[i].Buckets))
		}
		for j, x := range a[i].Buckets {
			y := b[i].Buckets[j]
			if !x.Start.Equal(y.Start) || x.Count != y.Count || !near(x.Min, y.Min) || !near(x.Max, y.Max) ||
				!near(x.Sum, y.Sum) || !near(x.Mean, y.Mean) || !near(x.First, y.First) || !near(x.Last, y.Last) {
				return fmt.Errorf("%s bucket %d: %+v against %+v", a[i].Name, j, x, y)
			}
		}
	}
	return nil
}
