package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/db"
	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/repo"
)

// storeResult is one store scenario's outcome.
type storeResult struct {
	rows     int64
	elapsed  time.Duration
	lat      latencies
	batchAvg float64
}

func (s storeResult) rate() float64 { return float64(s.rows) / s.elapsed.Seconds() }

func (s storeResult) detail() string {
	d := fmt.Sprintf("p50 %s, p99 %s", ms(s.lat.percentile(50)), ms(s.lat.percentile(99)))
	if s.batchAvg > 0 {
		d += fmt.Sprintf(", mean batch %.1f", s.batchAvg)
	}
	return d
}

// storeScenarios measures Store from each number of goroutines against the
// limit and the seed design, at both synchronous settings, on a copy of a
// file that already holds BaseRows rows.
func (r *runner) storeScenarios(ctx context.Context) error {
	base := r.path("base.db")
	for _, sync := range []rechist.Synchronous{rechist.SyncNormal, rechist.SyncFull} {
		work := r.path("store-" + sync.String() + ".db")
		if err := copyFile(base, work); err != nil {
			return err
		}
		r.progress("store: limit, %s", sync)
		limit, err := measureLimit(ctx, work, sync, r.cfg.StoreFor)
		if err != nil {
			return err
		}
		r.t.add(fmt.Sprintf("limit (one tx, prepared INSERT), %s", sync), rate(limit.rate()), "", "", "")
		for _, g := range r.cfg.Writers {
			r.progress("store: %d goroutines, %s", g, sync)
			seed, err := measureSeed(ctx, work, sync, g, r.cfg.StoreFor)
			if err != nil {
				return err
			}
			rh, err := measureStore(ctx, work, sync, g, r.cfg.StoreFor)
			if err != nil {
				return err
			}
			name := fmt.Sprintf("Store, %d goroutines, %s", g, sync)
			r.t.add(name+" vs limit", rate(rh.rate()), rate(limit.rate()), ratio(rh.rate(), limit.rate()), rh.detail())
			r.t.add(name+" vs seed design", rate(rh.rate()), rate(seed.rate()), ratio(rh.rate(), seed.rate()), "seed: "+seed.detail())
		}
	}
	return nil
}

// measureLimit inserts for d in one transaction with one prepared INSERT.
func measureLimit(ctx context.Context, path string, sync rechist.Synchronous, d time.Duration) (storeResult, error) {
	conn, err := repo.Driver.OpenSQL(path, core.Config{Synchronous: core.Synchronous(sync)})
	if err != nil {
		return storeResult{}, err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	start := time.Now()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return storeResult{}, err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, db.InsertRecord)
	if err != nil {
		return storeResult{}, err
	}
	var n int64
	for ; n%1024 != 0 || time.Since(start) < d; n++ {
		if _, err := stmt.ExecContext(ctx, names[n%int64(len(names))], valueJSON(n), time.Now().UnixMilli()); err != nil {
			return storeResult{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		return storeResult{}, err
	}
	return storeResult{rows: n, elapsed: time.Since(start)}, nil
}

// measureSeed runs the Rust crate's design for d: one writer goroutine
// behind a channel of 64, one autocommit INSERT per store, g callers each
// waiting for its reply.
func measureSeed(ctx context.Context, path string, sync rechist.Synchronous, g int, d time.Duration) (storeResult, error) {
	conn, err := repo.Driver.OpenSQL(path, core.Config{Synchronous: core.Synchronous(sync)})
	if err != nil {
		return storeResult{}, err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	stmt, err := conn.PrepareContext(ctx, db.InsertRecord)
	if err != nil {
		return storeResult{}, err
	}
	defer stmt.Close()
	type cmd struct {
		name, js string
		at       int64
		reply    chan error
	}
	cmds := make(chan cmd, 64)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for c := range cmds {
			_, err := stmt.ExecContext(ctx, c.name, c.js, c.at)
			c.reply <- err
		}
	}()
	res, err := runCallers(g, d, func(seq int64) error {
		reply := make(chan error, 1)
		cmds <- cmd{names[seq%int64(len(names))], valueJSON(seq), time.Now().UnixMilli(), reply}
		return <-reply
	})
	close(cmds)
	<-writerDone
	return res, err
}

// measureStore runs rechist's Store from g goroutines for d.
func measureStore(ctx context.Context, path string, sync rechist.Synchronous, g int, d time.Duration) (storeResult, error) {
	h, err := rechist.Open(ctx, path, rechist.WithSynchronous(sync))
	if err != nil {
		return storeResult{}, err
	}
	defer h.Close()
	res, err := storeOn(ctx, h, g, d)
	if err := h.Close(); err != nil {
		return res, err
	}
	return res, err
}

// storeOn runs Store on h from g goroutines for d.
func storeOn(ctx context.Context, h *rechist.DB, g int, d time.Duration) (storeResult, error) {
	rp := rechist.NewRepo[value](h)
	before := h.Stats()
	res, err := runCallers(g, d, func(seq int64) error {
		return rp.Store(ctx, names[seq%int64(len(names))], value{V: 0.5, Seq: seq})
	})
	after := h.Stats()
	if b := after.Batches - before.Batches; b > 0 {
		res.batchAvg = float64(after.RowsWritten-before.RowsWritten) / float64(b)
	}
	return res, err
}

// runCallers calls store from g goroutines until d has passed and returns
// the throughput and every call's latency.
func runCallers(g int, d time.Duration, store func(seq int64) error) (storeResult, error) {
	return runWorkers(g, d, func(_ int, seq int64) error { return store(seq) })
}

// runWorkers is runCallers telling store which of the g goroutines (0 to
// g-1) calls it.
func runWorkers(g int, d time.Duration, store func(worker int, seq int64) error) (storeResult, error) {
	var seq atomic.Int64
	var mu sync.Mutex
	var all latencies
	var firstErr error
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range g {
		wg.Go(func() {
			var lat latencies
			var err error
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if err = store(w, seq.Add(1)); err != nil {
					break
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			if err != nil && firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return storeResult{rows: int64(len(all)), elapsed: time.Since(start), lat: all}, firstErr
}
