package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/repo"
)

// bulkScenario compares StoreMany of BulkRows values (JSON encoding
// included) with the limit inserting the same number of pre-encoded rows.
func (r *runner) bulkScenario(ctx context.Context) error {
	work := r.path("bulk.db")
	if err := copyFile(r.path("base.db"), work); err != nil {
		return err
	}
	n := r.cfg.BulkRows
	now := time.Now().UnixMilli()
	for _, sync := range []rechist.Synchronous{rechist.SyncNormal, rechist.SyncFull} {
		r.progress("bulk: %d rows, %s", n, sync)
		// Alternate and keep the best of three each: one run is too noisy
		// on a shared 2-core machine.
		var limitBest, rhBest time.Duration
		for range 3 {
			d, err := timeLimitBulk(ctx, work, sync, n, now)
			if err != nil {
				return err
			}
			limitBest = minPositive(limitBest, d)
			d, err = timeStoreMany(ctx, work, sync, n)
			if err != nil {
				return err
			}
			rhBest = minPositive(rhBest, d)
		}
		lr, rr := float64(n)/limitBest.Seconds(), float64(n)/rhBest.Seconds()
		r.t.add(fmt.Sprintf("StoreMany %d rows, %s vs limit", n, sync), rate(rr), rate(lr), ratio(rr, lr), "best of 3, encoding included")
	}
	return nil
}

func minPositive(a, b time.Duration) time.Duration {
	if a == 0 || b < a {
		return b
	}
	return a
}

func timeLimitBulk(ctx context.Context, path string, sync rechist.Synchronous, n int, at int64) (time.Duration, error) {
	conn, err := repo.Driver.OpenSQL(path, core.Config{Synchronous: core.Synchronous(sync)})
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	if err := conn.PingContext(ctx); err != nil {
		return 0, err
	}
	start := time.Now()
	err = insertPlain(ctx, conn, 0, n, func(int) int64 { return at })
	return time.Since(start), err
}

func timeStoreMany(ctx context.Context, path string, sync rechist.Synchronous, n int) (time.Duration, error) {
	h, err := rechist.Open(ctx, path, rechist.WithSynchronous(sync))
	if err != nil {
		return 0, err
	}
	defer h.Close()
	now := time.Now()
	recs := make([]rechist.Record[value], n)
	for i := range recs {
		recs[i] = rechist.Record[value]{Name: names[i%len(names)], Value: value{V: 0.5, Seq: int64(i)}, StoredAt: now}
	}
	start := time.Now()
	err = rechist.NewRepo[value](h).StoreMany(ctx, recs)
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	return d, h.Close()
}
