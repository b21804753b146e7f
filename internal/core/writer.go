package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
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

	// commitMu is held by whoever commits: the writer goroutine for a
	// batch (from BeforeBatch to AfterBatch), or a caller committing its
	// own request directly (tryDirect). busy is set while the goroutine
	// has taken a request and not yet finished its batch, so that direct
	// commits never overtake what is queued.
	commitMu sync.Mutex
	busy     atomic.Bool
	// storing counts the callers inside insert: a direct commit is for a
	// caller storing alone; with company, the queue's group commit wins.
	storing atomic.Int32

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
	// A direct commit that began before the queue closed ends here.
	w.commitMu.Lock()
	w.commitMu.Unlock() //nolint:staticcheck // waiting, not guarding
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
	alone := w.storing.Add(1) == 1
	defer w.storing.Add(-1)
	if alone && w.tryDirect(ctx, r) {
		res := <-r.done
		return res.err
	}
	_, err := w.submit(ctx, r)
	return err
}

// tryDirect commits r on the caller's goroutine, as a batch of its own,
// when nothing is queued and nobody is committing (insert tries it only
// for a caller that stores alone): a caller storing in
// sequence then pays no hand-over to the writer goroutine and back (two
// wake-ups, about 10 µs of a 0.2 ms commit at FULL). It returns false,
// having done nothing, when r must go through the queue. A direct commit
// is the same as a batch of the goroutine's (hooks, deadline, retries),
// serialized with them by commitMu; r is taken at once, so ctx ending
// meanwhile does not abandon it, as for a request already in a batch.
func (w *Writer) tryDirect(ctx context.Context, r *Request) bool {
	if ctx.Err() != nil || w.busy.Load() || len(w.queue) > 0 {
		return false
	}
	w.mu.RLock()
	ok := !w.closed.Load() && !w.busy.Load() && len(w.queue) == 0 && w.commitMu.TryLock()
	w.mu.RUnlock() // close waits for commitMu after closing the queue
	if !ok {
		return false
	}
	r.ctx = ctx
	r.state.Store(stateTaken)
	w.beforeBatch()
	w.commitBatch([]*Request{r})
	if w.hooks != nil {
		w.hooks.AfterBatch()
	}
	w.commitMu.Unlock()
	return true
}

// beforeBatch runs the engine's BeforeBatch hook under the batch deadline.
func (w *Writer) beforeBatch() {
	if w.hooks != nil {
		ctx, cancel := context.WithTimeout(context.Background(), w.cfg.BatchTimeout)
		w.hooks.BeforeBatch(ctx)
		cancel()
	}
}

// cleanup deletes every row stored before cutoffMs in chunks of at most
// CleanupChunk rows sized by time (chunkSizer), each a request of its own, so stores queued meanwhile
// are committed between chunks. Each chunk goes on where the one before it
// stopped (Request.LastMs, LastName), never again from the start of the
// engine's walk, where a server's dead index entries pile up until a
// vacuum; once the chunks run out, one more looks from the start, for rows
// stored there meanwhile (a late row, another program's). If ctx ends or
// the writer closes between chunks, it returns the rows deleted so far
// with the error.
func (w *Writer) cleanup(ctx context.Context, cutoffMs int64) (int64, error) {
	var total int64
	fromMs, fromName := int64(math.MinInt64), "" // the start: rows may be stored before 1970
	size := newChunkSizer(w.cfg.CleanupChunk)
	for {
		r := newRequest(KindDeleteChunk)
		r.StartMs, r.Name, r.CutoffMs, r.Chunk = fromMs, fromName, cutoffMs, size.n
		n, err := w.submit(ctx, r)
		total += n
		if err != nil {
			return total, err
		}
		size.after(r)
		switch {
		case r.More && r.N > 0:
			fromMs, fromName = r.LastMs, r.LastName
		case fromMs != math.MinInt64 || fromName != "":
			fromMs, fromName = math.MinInt64, ""
		case !r.More:
			return total, nil
		}
	}
}

// deleteRange deletes the rows of the record name within r in chunks of
// at most CleanupChunk rows sized by time (chunkSizer), each a request of
// its own, each from where the one before it stopped (Request.LastMs) on
// an engine that says (PostgreSQL, whose index keeps the dead entries of
// the chunks before until a vacuum).
func (w *Writer) deleteRange(ctx context.Context, name string, r Range) (int64, error) {
	var total int64
	size := newChunkSizer(w.cfg.CleanupChunk)
	for startMs := r.StartMs; ; {
		req := newRequest(KindDeleteRange)
		req.Name, req.StartMs, req.CutoffMs, req.Chunk = name, startMs, r.EndMs, size.n
		req.LastMs = startMs
		n, err := w.submit(ctx, req)
		total += n
		if err != nil || !req.More {
			return total, err
		}
		size.after(req)
		startMs = req.LastMs
	}
}

// submit hands r to the writer and waits for its outcome (see Insert).
func (w *Writer) submit(ctx context.Context, r *Request) (int64, error) {
	r.ctx = ctx
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
		w.busy.Store(true)
		w.commitMu.Lock()
		w.beforeBatch()
		batch = batch[:0]
		rows := 0
		if first.Kind == KindCompact {
			if first.state.CompareAndSwap(stateQueued, stateTaken) {
				w.compact(first)
			}
			w.commitMu.Unlock()
			w.busy.Store(false)
			continue
		}
		var held *Request // a compact request met while gathering: it runs next, alone
		take := func(r *Request) {
			if r.Kind == KindCompact {
				held = r
				return
			}
			if r.state.CompareAndSwap(stateQueued, stateTaken) {
				batch = append(batch, r)
				rows += len(r.Rows) + 1
			}
		}
		take(first)
	gather:
		for rows < w.cfg.MaxBatchRows && held == nil {
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
		if held != nil && held.state.CompareAndSwap(stateQueued, stateTaken) {
			w.compact(held)
		}
		w.commitMu.Unlock()
		w.busy.Store(false)
		// The callers just answered were made runnable on this P; let them
		// run (and, most of them, store again) before the next gather, so
		// the next batch is not just whoever was quick.
		runtime.Gosched()
	}
}

// commitBatch commits batch and answers every caller. It tries the whole
// batch in one transaction under one deadline (Config.BatchTimeout), and
// then, depending on why a try failed:
//
//   - a failure that belongs to one request (RequestError): that request
//     is answered with it and the others are tried again without it;
//   - a failure that wrote nothing and may pass later (Retryable: a lock
//     held by another connection): the batch is tried again after a short
//     pause, until its deadline; callers whose ctx ends meanwhile are
//     answered with their ctx's error and dropped, since nothing of theirs
//     is in a transaction yet;
//   - anything else (a failed commit, a lost connection, an unknown
//     outcome): every request of the try is answered with it, never
//     retried, so nothing can be stored twice.
func (w *Writer) commitBatch(batch []*Request) {
	deadline := time.Now().Add(w.cfg.BatchTimeout)
	pending := batch
	pause := time.Millisecond
	oneByOne := false
	var locked error // the last Retryable failure, if any
	for len(pending) > 0 {
		try := pending
		if oneByOne {
			try = pending[:1]
		}
		err := w.commit(try, deadline)
		w.stats.batches.Add(1)
		var re *RequestError
		switch {
		case err == nil:
			for _, r := range try {
				w.answer(r, nil)
			}
			pending = pending[len(try):]
		case errors.As(err, &re) && len(try) > 1 && re.Request == nil:
			w.cfg.Logger.Warn("rechist: a request of the batch was refused, trying each alone",
				slog.Int(LogKeyRequests, len(try)), slog.Any(LogKeyError, err))
			oneByOne = true
		case errors.As(err, &re) && len(try) > 1:
			i := slices.Index(pending, re.Request)
			if i < 0 {
				w.failAll(try, err)
				pending = pending[len(try):]
				break
			}
			w.answer(re.Request, re.Err)
			pending = slices.Delete(pending, i, i+1)
		case isRetryable(err) && time.Now().Add(pause).Before(deadline):
			locked = err
			pending = w.dropGone(pending)
			time.Sleep(pause)
			pause = min(2*pause, maxRetryPause)
		default:
			if locked != nil && errors.Is(err, context.DeadlineExceeded) {
				// The deadline cut the last try short; what kept the batch
				// out is the lock the tries before it met.
				err = fmt.Errorf("write transaction not done within the batch timeout (%v), the database still locked: %w", w.cfg.BatchTimeout, locked)
			}
			w.failAll(try, err)
			pending = pending[len(try):]
		}
	}
}

// compact runs a KindCompact request through the engine's Compacter,
// under the batch deadline, and answers it.
func (w *Writer) compact(r *Request) {
	c, ok := w.eng.(Compacter)
	if !ok {
		w.answer(r, fmt.Errorf("%w: the engine has no compaction", errors.ErrUnsupported))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.BatchTimeout)
	defer cancel()
	more, err := c.Compact(ctx)
	if more {
		r.N = 1 // DB.Compact asks again
	}
	w.answer(r, err)
}

// maxRetryPause bounds the pause between two tries of a batch that met a
// lock: short, so writers of several processes take turns quickly.
const maxRetryPause = 20 * time.Millisecond

// dropGone answers the requests whose caller's ctx has ended with its
// error (nothing of them was written) and returns the others.
func (w *Writer) dropGone(reqs []*Request) []*Request {
	return slices.DeleteFunc(reqs, func(r *Request) bool {
		if r.ctx == nil || r.ctx.Err() == nil {
			return false
		}
		w.stats.abandoned.Add(1)
		r.done <- result{err: r.ctx.Err()}
		return true
	})
}

func (w *Writer) failAll(reqs []*Request, err error) {
	for _, r := range reqs {
		w.answer(r, err)
	}
}

// commit runs one transaction under the batch deadline.
func (w *Writer) commit(batch []*Request, deadline time.Time) error {
	for _, r := range batch {
		r.N, r.More = 0, false
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	err := w.eng.Commit(ctx, batch)
	took := time.Since(start)
	for _, r := range batch {
		r.Took = took
	}
	if err != nil && ctx.Err() != nil && !errors.Is(err, ErrOutcomeUnknown) {
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
	case r.Kind == KindDeleteChunk || r.Kind == KindDeleteRange:
		w.stats.rowsDeleted.Add(n)
	case r.Kind == KindTiers || r.Kind == KindSetSourceID:
		// no history rows
	default:
		w.stats.rowsWritten.Add(n)
	}
	r.ctx = nil
	r.done <- result{n: n, err: err}
}
