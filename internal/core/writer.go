package core

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
)

// Writer is the single writer goroutine of a DB: callers enqueue requests
// on a bounded queue and wait for their own outcome; the goroutine takes the
// first waiting request, gathers whatever else is already queued (up to
// MaxBatchRows rows), commits the batch through Engine.Commit under a
// deadline of Config.BatchTimeout, and answers each caller. If a batch fails, its
// requests are retried one transaction each, so a request that cannot be
// written fails alone and the others still commit.
type Writer struct {
	cfg   Config
	eng   Engine
	hooks BatchHooks // nil when the engine has none

	// mu guards the closing of queue: senders hold it for reading while
	// they send, Close takes it for writing before it closes the channel.
	mu        sync.RWMutex
	queue     chan *Request
	closed    atomic.Bool
	closeOnce sync.Once
	done      chan struct{}

	stats counters
}

// newWriter starts a writer goroutine that commits through eng.
// cfg must be normalized.
func newWriter(cfg Config, eng Engine) *Writer {
	w := &Writer{
		cfg:   cfg,
		eng:   eng,
		queue: make(chan *Request, cfg.QueueSize),
		done:  make(chan struct{}),
	}
	w.hooks, _ = eng.(BatchHooks)
	go w.run()
	return w
}

// close stops accepting requests (ErrClosed), lets the goroutine commit
// everything already accepted, and waits for it to end.
func (w *Writer) close() {
	w.closeOnce.Do(func() {
		w.closed.Store(true)
		w.mu.Lock()
		close(w.queue)
		w.mu.Unlock()
	})
	<-w.done
}

// insert writes rows in one atomic request and returns once they are
// committed. Every row is validated first; if any is invalid nothing is
// written and the error (wrapping ErrInvalidArgument) names it.
//
// While the request is still queued, ctx ending abandons it: the writer
// skips it and insert returns ctx.Err(). Once the writer has taken it into
// a batch, insert waits for that batch's commit and returns its outcome even
// if ctx ends meanwhile (a batch is short, bounded by MaxBatchRows and the
// Config.BatchTimeout). So an error from ctx always means nothing was written, and
// nil always means the rows are committed.
func (w *Writer) insert(ctx context.Context, rows []Row) error {
	r := newRequest(KindInsert)
	r.Rows = rows
	w.stats.requests.Add(1)
	_, err := w.submit(ctx, r)
	return err
}

// cleanup deletes every row stored before cutoffMs in chunks of at most
// CleanupChunk rows, each a request of its own, so stores queued meanwhile
// are committed between chunks. If ctx ends or the writer closes between
// chunks, it returns the rows deleted so far with the error.
func (w *Writer) cleanup(ctx context.Context, cutoffMs int64) (int64, error) {
	var total int64
	for {
		r := newRequest(KindDeleteChunk)
		r.CutoffMs, r.Chunk = cutoffMs, int64(w.cfg.CleanupChunk)
		n, err := w.submit(ctx, r)
		total += n
		if err != nil {
			return total, err
		}
		if n < r.Chunk {
			w.stats.cleanups.Add(1)
			return total, nil
		}
	}
}

// submit hands r to the writer and waits for its outcome (see Insert).
func (w *Writer) submit(ctx context.Context, r *Request) (int64, error) {
	if err := w.enqueue(ctx, r); err != nil {
		return 0, err
	}
	select {
	case res := <-r.done:
		return res.n, res.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(stateQueued, stateAbandoned) {
			w.stats.abandoned.Add(1)
			return 0, ctx.Err()
		}
		res := <-r.done
		return res.n, res.err
	}
}

// enqueue puts r on the writer's queue, waiting while the queue is full.
func (w *Writer) enqueue(ctx context.Context, r *Request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed.Load() {
		return ErrClosed
	}
	select {
	case w.queue <- r:
		return nil
	default:
	}
	select {
	case w.queue <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the writer goroutine. It returns once the queue is closed and
// drained.
func (w *Writer) run() {
	defer close(w.done)
	var batch []*Request
	for first := range w.queue {
		if w.hooks != nil {
			ctx, cancel := context.WithTimeout(context.Background(), w.cfg.BatchTimeout)
			w.hooks.BeforeBatch(ctx)
			cancel()
		}
		batch = batch[:0]
		rows := 0
		take := func(r *Request) {
			if r.state.CompareAndSwap(stateQueued, stateTaken) {
				batch = append(batch, r)
				rows += len(r.Rows) + 1
			}
		}
		take(first)
	gather:
		for rows < w.cfg.MaxBatchRows {
			select {
			case r, ok := <-w.queue:
				if !ok {
					break gather
				}
				take(r)
			default:
				break gather
			}
		}
		if len(batch) > 0 {
			w.commitBatch(batch)
			if w.hooks != nil {
				w.hooks.AfterBatch()
			}
		}
		clear(batch) // drop references to answered requests
		// The callers just answered were made runnable on this P; let them
		// run (and, most of them, store again) before the next gather, so
		// the next batch is not just whoever was quick.
		runtime.Gosched()
	}
}

// commitBatch commits batch in one transaction, or, if that fails, each
// request in a transaction of its own, and answers every caller.
func (w *Writer) commitBatch(batch []*Request) {
	err := w.commit(batch)
	if err == nil || len(batch) == 1 {
		w.stats.batches.Add(1)
		for _, r := range batch {
			w.answer(r, err)
		}
		return
	}
	w.cfg.Logger.Warn("rechist: batch failed, retrying its requests one by one",
		slog.Int(LogKeyRequests, len(batch)), slog.Any(LogKeyError, err))
	for _, r := range batch {
		err := w.commit([]*Request{r})
		w.stats.batches.Add(1)
		w.answer(r, err)
	}
}

// commit runs one transaction under the batch deadline.
func (w *Writer) commit(batch []*Request) error {
	for _, r := range batch {
		r.N = 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.BatchTimeout)
	defer cancel()
	err := w.eng.Commit(ctx, batch)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("write transaction not done within the batch timeout (%v): %w", w.cfg.BatchTimeout, err)
	}
	return err
}

// answer records r's outcome in the statistics and wakes its caller.
func (w *Writer) answer(r *Request, err error) {
	n := r.N
	switch {
	case err != nil:
		w.stats.writeErrors.Add(1)
		err = Wrap(r.Kind.op(), err, w.eng.Classify)
		n = 0
	case r.Kind == KindDeleteChunk:
		w.stats.rowsDeleted.Add(n)
	default:
		w.stats.rowsWritten.Add(n)
	}
	r.done <- result{n: n, err: err}
}
