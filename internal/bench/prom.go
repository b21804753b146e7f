package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/rechisthttp"
)

// The Prometheus API's targets (issue 24), through the handler in
// process (no network):
//   - rate(x[5m]) over one record for one day at a 15 s step, against
//     Aggregate (rechist agg) of the same rows into 15 s buckets: what
//     the PromQL engine adds over summing in the database;
//   - /api/v1/series and /api/v1/label/record/values over 10,000
//     records;
//   - a query over every row of a record of 1M rows (200k in the quick
//     profile): its time and the Go heap it peaks at above where it
//     began.

// promDayRows is one row a second for a day.
const promDayRows = 86_400

// promRecords is how many records the listing scenarios list.
const promRecords = 10_000

func (r *runner) promScenarios(ctx context.Context) error {
	big := 1_000_000
	if r.cfg.BaseRows < big {
		big = r.cfg.BaseRows
	}
	path := r.path("prom.db")
	end := time.Now().Truncate(time.Minute)
	day := end.Add(-24 * time.Hour)
	r.progress("prom: building %s (a day per second, %d records, a record of %d rows)", path, promRecords, big)
	err := buildWith(ctx, path, promDayRows+promRecords+big, func(i int) (string, string, int64) {
		switch {
		case i < promDayRows:
			return "prom::day", fmt.Sprintf(`{"v":%d}`, i*3%1000), day.Add(time.Duration(i+1) * time.Second).UnixMilli()
		case i < promDayRows+promRecords:
			i -= promDayRows
			return fmt.Sprintf("prom::rec::%05d", i), fmt.Sprintf(`{"v":%d}`, i), end.UnixMilli()
		}
		i -= promDayRows + promRecords
		return "prom::big", fmt.Sprintf(`{"v":%d}`, i%1000), end.Add(-time.Duration(big-i) * 50 * time.Millisecond).UnixMilli()
	})
	if err != nil {
		return err
	}
	db, err := rechist.Open(ctx, path, rechist.WithReadOnly())
	if err != nil {
		return err
	}
	defer db.Close()
	h := rechisthttp.NewHandler(db)
	get := func(path string, q url.Values) (int, error) {
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, path+"?"+q.Encode(), nil)
		req.Host = "127.0.0.1" // the guard's loopback rule
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %d %s", req.URL, rec.Code, rec.Body.String())
		}
		return rec.Body.Len(), nil
	}
	unix := func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

	r.progress("prom: rate over a day at 15 s, against Aggregate into 15 s buckets")
	ours, _, err := timeRuns(r.cfg.QueryRuns, func() (int, error) {
		return get("/api/v1/query_range", url.Values{"query": {`rate({record="prom::day"}[5m])`},
			"start": {unix(day)}, "end": {unix(end)}, "step": {"15"}})
	})
	if err != nil {
		return err
	}
	base, _, err := timeRuns(r.cfg.QueryRuns, func() (int, error) {
		s, err := db.Aggregate(ctx, "prom::day", rechist.AggregateParams{Field: "v", Every: 15 * time.Second, Start: day, End: end})
		if err == nil && (len(s) != 1 || len(s[0].Buckets) < promDayRows/15-1) {
			err = fmt.Errorf("aggregate: %d series", len(s))
		}
		return 0, err
	})
	if err != nil {
		return err
	}
	r.t.add("prom: rate(x[5m]) over a day of 86,400 rows at 15 s step", ms(ours.median()), ms(base.median()),
		ratio(float64(ours.median()), float64(base.median())),
		fmt.Sprintf("PromQL through the handler vs Aggregate into 15 s buckets (rechist agg); medians of %d (target <= 2x)", r.cfg.QueryRuns))

	for _, c := range []struct {
		label, path string
		q           url.Values
	}{
		{"prom: /api/v1/series over 10,000 records", "/api/v1/series", url.Values{"match[]": {`{record=~"prom::rec::.*"}`}}},
		{"prom: /api/v1/label/record/values, 10,000+ records", "/api/v1/label/record/values", nil},
	} {
		r.progress("%s", c.label)
		lat, _, err := timeRuns(r.cfg.QueryRuns, func() (int, error) { return get(c.path, c.q) })
		if err != nil {
			return err
		}
		r.t.add(c.label, ms(lat.median()), "", "", fmt.Sprintf("medians of %d, p99 %s (target <= 100 ms)", r.cfg.QueryRuns, ms(lat.percentile(99))))
	}

	r.progress("prom: a query over %d rows of one record", big)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := heapPeak()
	t0 := time.Now()
	n, err := get("/api/v1/query", url.Values{"query": {`max_over_time({record="prom::big"}[2d])`}, "time": {unix(end)}})
	took := time.Since(t0)
	high := stop()
	if err != nil {
		return err
	}
	r.t.add(fmt.Sprintf("prom: max_over_time over %d rows of one record", big), ms(took), "", "",
		fmt.Sprintf("Go heap peak %.1f MiB above the %.1f MiB before it (sampled every 10 ms); %d bytes answered", float64(high-before.HeapAlloc)/(1<<20), float64(before.HeapAlloc)/(1<<20), n))
	return db.Close()
}

// heapPeak samples the Go heap every 10 ms until stop, which returns the
// highest HeapAlloc seen.
func heapPeak() (stop func() uint64) {
	done := make(chan struct{})
	var high uint64 // the sampler's until done is closed, then stop's
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			high = max(high, m.HeapAlloc)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return high
	}
}
