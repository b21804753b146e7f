package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/bench/benchdb"
	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/repo"
)

// queryScenarios times the read paths against the seed query and a plain
// scan, at BaseRows and, if set, at BigRows.
func (r *runner) queryScenarios(ctx context.Context) error {
	sizes := []struct {
		file string
		rows int
	}{{"base.db", r.cfg.BaseRows}}
	if r.cfg.BigRows > r.cfg.BaseRows {
		if _, err := r.fileFor(ctx, r.cfg.BigRows); err != nil {
			return err
		}
		sizes = append(sizes, struct {
			file string
			rows int
		}{"big.db", r.cfg.BigRows})
	}
	for _, s := range sizes {
		if err := r.queryAt(ctx, r.path(s.file), s.rows); err != nil {
			return err
		}
	}
	return r.readDuringStorm(ctx)
}

func (r *runner) queryAt(ctx context.Context, path string, rows int) error {
	h, err := rechist.Open(ctx, path)
	if err != nil {
		return err
	}
	defer h.Close()
	raw, err := repo.Driver.OpenSQL(path, core.Config{})
	if err != nil {
		return err
	}
	defer raw.Close()
	q := benchdb.New(raw)
	return r.readScenarios(ctx, rowsLabel(rows), h, rows, baselines{
		seed: func(like string) (int, error) {
			got, err := q.SeedQueryLike(ctx, benchdb.SeedQueryLikeParams{LikePattern: like, LimitPerRecord: 5, StartMs: 0, EndMs: 1 << 62})
			return len(got), err
		},
		scan: func(start, _ int64) (int, error) {
			got, err := q.ScanSince(ctx, start) // the base file holds nothing newer
			return len(got), err
		},
	})
}

// baselines are an engine's plain-SQL counterparts of the read scenarios.
type baselines struct {
	seed func(like string) (int, error)      // the seed query, latest 5 per record
	scan func(start, end int64) (int, error) // a plain indexed scan of a time range
}

// readScenarios times QueryLatest over every record and over one record
// against the seed query, and a time range over the newest 1% of the base
// rows against a plain scan, on h, which holds rows base rows.
func (r *runner) readScenarios(ctx context.Context, label string, h *rechist.DB, rows int, b baselines) error {
	rp := rechist.NewRepo[value](h)
	// Raw JSON values for the range: the scan decodes nothing either.
	rawRepo := rechist.NewRepo[json.RawMessage](h)
	exact := names[len(names)/2]
	start, end := baseStart+int64(rows)*99/100, baseStart+int64(rows)
	seedRuns, rangeRuns := max(3, r.cfg.QueryRuns/10), max(5, r.cfg.QueryRuns/4)
	for _, sc := range []struct {
		name, detail    string
		ours, base      func() (int, error)
		oursRuns, bRuns int
		speedUp         bool
	}{
		{"QueryLatest(bench::*, 5)", "speed-up over the seed query", func() (int, error) {
			got, err := rp.QueryLatest(ctx, "bench::*", 5)
			return len(got), err
		}, func() (int, error) { return b.seed("bench::%") }, r.cfg.QueryRuns, seedRuns, true},
		{"QueryLatest(one record, 5)", "speed-up over the seed query", func() (int, error) {
			got, err := rp.QueryLatest(ctx, exact, 5)
			return len(got), err
		}, func() (int, error) { return b.seed(exact) }, r.cfg.QueryRuns, seedRuns, true},
		{"Query(*, newest 1%)", "time vs a plain indexed scan (lower is better), values as json.RawMessage", func() (int, error) {
			got, err := rawRepo.Query(ctx, "*", rechist.QueryParams{Start: time.UnixMilli(start), End: time.UnixMilli(end)})
			return len(got), err
		}, func() (int, error) { return b.scan(start, end) }, rangeRuns, rangeRuns, false},
	} {
		r.progress("query: %s, %s", sc.name, label)
		ours, n, err := timeRuns(sc.oursRuns, sc.ours)
		if err != nil {
			return err
		}
		base, _, err := timeRuns(sc.bRuns, sc.base)
		if err != nil {
			return err
		}
		rt := ratio(float64(ours.median()), float64(base.median()))
		if sc.speedUp {
			rt = ratio(float64(base.median()), float64(ours.median()))
		}
		r.t.add(fmt.Sprintf("%s, %s", sc.name, label), ms(ours.median()), ms(base.median()), rt,
			fmt.Sprintf("%s; %d rows, p99 %s", sc.detail, n, ms(ours.percentile(99))))
	}
	return h.Close()
}

// timeRuns runs f n times and returns the latencies and f's last count.
func timeRuns(n int, f func() (int, error)) (latencies, int, error) {
	var lat latencies
	count := 0
	for range n {
		t0 := time.Now()
		c, err := f()
		if err != nil {
			return nil, 0, err
		}
		lat = append(lat, time.Since(t0))
		count = c
	}
	return lat, count, nil
}

// readDuringStorm compares QueryLatest's latency idle and while 256
// goroutines store.
func (r *runner) readDuringStorm(ctx context.Context) error {
	h, err := r.openBaseCopy(ctx, "storm.db")
	if err != nil {
		return err
	}
	defer h.Close()
	rp := rechist.NewRepo[value](h)
	query := func() (int, error) {
		got, err := rp.QueryLatest(ctx, "bench::*", 1)
		return len(got), err
	}
	r.progress("query: latest 1 idle and during a 256-goroutine store storm")
	idle, _, err := timeRuns(r.cfg.QueryRuns, query)
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 256 {
		wg.Go(func() {
			for seq := int64(g); ; seq += 256 {
				select {
				case <-stop:
					return
				default:
				}
				if err := rp.Store(ctx, names[seq%int64(len(names))], value{Seq: seq}); err != nil {
					return
				}
			}
		})
	}
	time.Sleep(200 * time.Millisecond) // let the storm build up
	storm, _, err := timeRuns(r.cfg.QueryRuns, query)
	close(stop)
	wg.Wait()
	if err != nil {
		return err
	}
	r.t.add("QueryLatest(bench::*, 1) during 256-goroutine storm", ms(storm.median()), ms(idle.median()),
		ratio(float64(storm.median()), float64(idle.median())), "storm vs idle latency (lower is better), medians")
	return h.Close()
}
