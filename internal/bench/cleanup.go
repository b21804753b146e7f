package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/seed178a96f3/rechist"
)

// cleanupScenario deletes the oldest 10% of the base rows while 16
// goroutines store, and compares the writers' p99 during the cleanup with
// their p99 just before it.
func (r *runner) cleanupScenario(ctx context.Context) error {
	h, err := r.openBaseCopy(ctx, "cleanup.db")
	if err != nil {
		return err
	}
	defer h.Close()
	if err := r.cleanupUnderWriters(ctx, h, "", r.baseTenth()); err != nil {
		return err
	}
	return h.Close()
}

// baseTenth is the time before which the oldest 10% of the base rows lie.
func (r *runner) baseTenth() time.Time {
	return time.UnixMilli(baseStart + int64(r.cfg.BaseRows)/10)
}

// cleanupUnderWriters deletes the rows of h stored before cutoff while 16
// goroutines store, and adds the writers' p99 during the cleanup against
// their p99 just before it to the table.
func (r *runner) cleanupUnderWriters(ctx context.Context, h *rechist.DB, label string, cutoff time.Time) error {
	rp := rechist.NewRepo[value](h)
	r.progress("cleanup%s: rows before %v while 16 goroutines store", label, cutoff.UTC().Format(time.DateTime))

	var mu sync.Mutex
	phase := 0 // 0 before, 1 during cleanup, 2 after
	lat := [3]latencies{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for seq := int64(g); ; seq += 16 {
				select {
				case <-stop:
					return
				default:
				}
				t0 := time.Now()
				if err := rp.Store(ctx, names[seq%int64(len(names))], value{Seq: seq}); err != nil {
					return
				}
				d := time.Since(t0)
				mu.Lock()
				lat[phase] = append(lat[phase], d)
				mu.Unlock()
			}
		})
	}
	time.Sleep(r.cfg.StoreFor)
	mu.Lock()
	phase = 1
	mu.Unlock()
	t0 := time.Now()
	n, err := h.Cleanup(ctx, cutoff)
	took := time.Since(t0)
	mu.Lock()
	phase = 2
	mu.Unlock()
	close(stop)
	wg.Wait()
	if err != nil {
		return err
	}
	r.t.add(fmt.Sprintf("writers' p99 during Cleanup of %d rows (16 writers)%s", n, label), ms(lat[1].percentile(99)), ms(lat[0].percentile(99)),
		ratio(float64(lat[1].percentile(99)), float64(lat[0].percentile(99))),
		fmt.Sprintf("vs p99 before it; cleanup took %v (%.0f rows/s), max %s", took.Round(time.Millisecond), float64(n)/took.Seconds(), ms(lat[1].percentile(100))))
	return nil
}
