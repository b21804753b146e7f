package repo

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
)

// A request's life: queued until the writer takes it into a batch, or until
// its caller gives up on it first. Whoever moves it out of stateQueued first
// decides its fate, so a value is either written and acknowledged, or
// abandoned and never written.
const (
	stateQueued int32 = iota
	stateTaken
	stateAbandoned
)

// Request is one unit of work for a Writer: rows to insert, or one chunk of
// a retention cleanup. A request is atomic: all of it commits or none does.
type Request struct {
	// Rows are inserted; when nil, the request deletes at most Chunk rows
	// stored before CutoffMs.
	Rows     []Row
	CutoffMs int64
	Chunk    int64

	state atomic.Int32
	done  chan result // buffered; the writer sends exactly once
}

type result struct {
	n   int64 // rows inserted or deleted
	err error
}

func newRequest() *Request { return &Request{done: make(chan result, 1)} }

// CommitFunc runs batch in one transaction and stores in ns[i] the rows
// request i inserted or deleted. An error means nothing of the batch was
// committed.
type CommitFunc func(ctx context.Context, batch []*Request, ns []int64) error

// WriterHooks let an engine act between batches; both may be nil.
type WriterHooks struct {
	// BeforeBatch runs when the writer has a request and has not yet begun
	// its transaction.
	BeforeBatch func(ctx context.Context)
	// AfterCommit runs after every committed (or failed) batch.
	AfterCommit func()
}

// Writer is the single writer goroutine shared by the engines: callers
// enqueue requests on a bounded queue and wait for their own outcome; the
// goroutine takes the first waiting request, gathers whatever else is
// already queued (up to MaxBatchRows rows), commits the batch through the
// engine's CommitFunc, and answers each caller. If a batch fails, its
// requests are retried one transaction each, so a request that cannot be
// written fails alone and the others still commit.
type Writer struct {
	cfg    Config
	commit CommitFunc
	hooks  WriterHooks

	// mu guards the closing of queue: senders hold it for reading while
	// they send, Close takes it for writing before it closes the channel.
	mu        sync.RWMutex
	queue     chan *Request
	closed    atomic.Bool
	closeOnce sync.Once
	done      chan struct{}

	stats counters
}

// NewWriter starts a writer goroutine that commits through commit.
// cfg must be normalized (as the Opener of an engine receives it).
func NewWriter(cfg Config, commit CommitFunc, hooks WriterHooks) *Writer {
	w := &Writer{
		cfg:    cfg,
		commit: commit,
		hooks:  hooks,
		queue:  make(chan *Request, cfg.QueueSize),
		done:   make(chan struct{}),
	}
	go w.run()
	return w
}

// Closed reports whether Close has begun.
func (w *Writer) Closed() bool { return w.closed.Load() }

// Close stops accepting requests (ErrClosed), lets the goroutine commit
// everything already accepted, and waits for it to end.
func (w *Writer) Close() {
	w.closeOnce.Do(func() {
		w.closed.Store(true)
		w.mu.Lock()
		close(w.queue)
		w.mu.Unlock()
	})
	<-w.done
}

// Insert writes rows in one atomic request and returns once they are
// committed. Every row is validated first; if any is invalid nothing is
// written and the error (wrapping ErrInvalidArgument) names it.
//
// While the request is still queued, ctx ending abandons it: the writer
// skips it and Insert returns ctx.Err(). Once the writer has taken it into
// a batch, Insert waits for that batch's commit and returns its outcome even
// if ctx ends meanwhile (a batch is short, bounded by MaxBatchRows and the
// busy timeout). So an error from ctx always means nothing was written, and
// nil always means the rows are committed.
func (w *Writer) Insert(ctx context.Context, rows []Row) error {
	if err := ValidateRows("store", rows); err != nil || len(rows) == 0 {
		return err
	}
	if w.closed.Load() {
		return ErrClosed
	}
	r := newRequest()
	r.Rows = rows
	w.stats.requests.Add(1)
	_, err := w.submit(ctx, r)
	return err
}

// Cleanup deletes every row stored before cutoffMs in chunks of at most
// CleanupChunk rows, each a request of its own, so stores queued meanwhile
// are committed between chunks. If ctx ends or the writer closes between
// chunks, it returns the rows deleted so far with the error.
func (w *Writer) Cleanup(ctx context.Context, cutoffMs int64) (int64, error) {
	if cutoffMs < 0 {
		return 0, Invalidf("cleanup", "cutoff %d ms is before the Unix epoch", cutoffMs)
	}
	var total int64
	for {
		r := newRequest()
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

// ValidateRows checks rows for Insert; the error wraps ErrInvalidArgument
// and names the first bad row.
func ValidateRows(op string, rows []Row) error {
	for i := range rows {
		if problem := rows[i].problem(); problem != "" {
			if len(rows) > 1 {
				return Invalidf(op, "record %d of %d: %s", i, len(rows), problem)
			}
			return Invalidf(op, "%s", problem)
		}
	}
	return nil
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
	ctx := context.Background()
	var batch []*Request
	for first := range w.queue {
		if w.hooks.BeforeBatch != nil {
			w.hooks.BeforeBatch(ctx)
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
			w.commitBatch(ctx, batch)
			if w.hooks.AfterCommit != nil {
				w.hooks.AfterCommit()
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
func (w *Writer) commitBatch(ctx context.Context, batch []*Request) {
	ns := make([]int64, len(batch))
	err := w.commit(ctx, batch, ns)
	if err == nil || len(batch) == 1 {
		w.stats.batches.Add(1)
		for i, r := range batch {
			w.answer(r, ns[i], err)
		}
		return
	}
	w.cfg.Logger.Warn("rechist: batch failed, retrying its requests one by one",
		slog.Int("requests", len(batch)), slog.Any(logKeyError, err))
	for _, r := range batch {
		one := []int64{0}
		err := w.commit(ctx, []*Request{r}, one)
		w.stats.batches.Add(1)
		w.answer(r, one[0], err)
	}
}

// answer records r's outcome in the statistics and wakes its caller.
func (w *Writer) answer(r *Request, n int64, err error) {
	switch {
	case err != nil:
		w.stats.writeErrors.Add(1)
		op := "store"
		if r.Rows == nil {
			op = "cleanup"
		}
		err = opError(op, err)
		n = 0
	case r.Rows == nil:
		w.stats.rowsDeleted.Add(n)
	default:
		w.stats.rowsWritten.Add(n)
	}
	r.done <- result{n: n, err: err}
}
