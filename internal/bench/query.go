package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/db"
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
		if err := r.build(ctx, r.path("big.db"), r.cfg.BigRows); err != nil {
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
	raw, err := repo.OpenSQL(path, repo.Config{})
	if err != nil {
		return err
	}
	defer raw.Close()
	q := db.New(raw)
	rp := rechist.NewRepo[value](h)
	size := fmt.Sprintf("%dM rows", rows/1_000_000)
	if rows < 1_000_000 {
		size = fmt.Sprintf("%dk rows", rows/1000)
	}
	seedRuns := max(3, r.cfg.QueryRuns/10)
	slow := time.Duration(0)

	// Latest 5 of every record under a prefix.
	r.progress("query: latest 5 of %d records, %s", len(names), size)
	latest, n, err := timeRuns(r.cfg.QueryRuns, func() (int, error) {
		got, err := rp.QueryLatest(ctx, "bench::*", 5)
		return len(got), err
	})
	if err != nil {
		return err
	}
	seed, _, err := timeRuns(seedRuns, func() (int, error) {
		got, err := q.SeedQueryLike(ctx, db.SeedQueryLikeParams{LikePattern: "bench::%", LimitPerRecord: 5, StartMs: 0, EndMs: 1 << 62})
		return len(got), err
	})
	if err != nil {
		return err
	}
	r.t.add(fmt.Sprintf("QueryLatest(bench::*, 5), %s", size), ms(latest.median()), ms(seed.median()),
		ratio(float64(seed.median()), float64(latest.median())), fmt.Sprintf("speed-up over the seed query; %d rows, p99 %s", n, ms(latest.percentile(99))))
	slow = seed.median()

	// One exact record.
	exact := names[len(names)/2]
	one, n, err := timeRuns(r.cfg.QueryRuns, func() (int, error) {
		got, err := rp.QueryLatest(ctx, exact, 5)
		return len(got), err
	})
	if err != nil {
		return err
	}
	seedOne, _, err := timeRuns(seedRuns, func() (int, error) {
		got, err := q.SeedQueryLike(ctx, db.SeedQueryLikeParams{LikePattern: exact, LimitPerRecord: 5, StartMs: 0, EndMs: 1 << 62})
		return len(got), err
	})
	if err != nil {
		return err
	}
	r.t.add(fmt.Sprintf("QueryLatest(one record, 5), %s", size), ms(one.median()), ms(seedOne.median()),
		ratio(float64(seedOne.median()), float64(one.median())), fmt.Sprintf("speed-up over the seed query; %d rows", n))

	// The newest 1% across all records.
	start := baseStart + int64(rows)*99/100
	// Raw JSON values on both sides: the scan decodes nothing either.
	rawRepo := rechist.NewRepo[json.RawMessage](h)
	rng, n, err := timeRuns(max(5, r.cfg.QueryRuns/4), func() (int, error) {
		got, err := rawRepo.Query(ctx, "*", rechist.QueryParams{Start: time.UnixMilli(start)})
		return len(got), err
	})
	if err != nil {
		return err
	}
	scan, _, err := timeRuns(max(5, r.cfg.QueryRuns/4), func() (int, error) {
		got, err := q.ScanSince(ctx, start)
		return len(got), err
	})
	if err != nil {
		return err
	}
	r.t.add(fmt.Sprintf("Query(*, newest 1%%), %s", size), ms(rng.median()), ms(scan.median()),
		ratio(float64(rng.median()), float64(scan.median())), fmt.Sprintf("time vs a plain indexed scan (lower is better); %d rows as json.RawMessage", n))
	_ = slow
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
	path := r.path("storm.db")
	if err := copyFile(r.path("base.db"), path); err != nil {
		return err
	}
	h, err := rechist.Open(ctx, path, rechist.WithSynchronous(repo.SyncNormal))
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
