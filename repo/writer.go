package repo

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"

	"github.com/seed178a96f3/rechist/db"
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

// request is one unit of work for the writer: rows to insert, or one chunk of
// a retention cleanup. A request is atomic: all of it commits or none does.
type request struct {
	rows []Row // insert these, or, when nil:
	// delete at most chunk rows stored before cutoff.
	cutoff int64
	chunk  int64

	state atomic.Int32
	done  chan result // buffered; the writer sends exactly once
}

type result struct {
	n   int64 // rows inserted or deleted
	err error
}

func newRequest() *request { return &request{done: make(chan result, 1)} }

// apply runs the request's statements inside the writer's transaction.
func (r *request) apply(ctx context.Context, q *db.Queries) (int64, error) {
	if r.rows == nil {
		return q.DeleteOlderThanChunk(ctx, db.DeleteOlderThanChunkParams{CutoffMs: r.cutoff, ChunkSize: r.chunk})
	}
	for i := range r.rows {
		row := &r.rows[i]
		err := q.InsertRecord(ctx, db.InsertRecordParams{RecordName: row.Name, ValueJson: row.ValueJSON, StoredAt: row.StoredAt})
		if err != nil {
			return 0, err
		}
	}
	return int64(len(r.rows)), nil
}

// submit hands r to the writer and waits for its outcome.
//
// While r is still queued, ctx ending abandons it: the writer will skip it
// and submit returns ctx.Err(). Once the writer has taken r into a batch,
// submit waits for that batch's commit and returns its outcome even if ctx
// ends meanwhile (a batch is short, bounded by MaxBatchRows and the busy
// timeout). So an error from ctx always means nothing was written, and nil
// always means r is committed.
func (e *Engine) submit(ctx context.Context, r *request) (int64, error) {
	if err := e.enqueue(ctx, r); err != nil {
		return 0, err
	}
	select {
	case res := <-r.done:
		return res.n, res.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(stateQueued, stateAbandoned) {
			e.stats.abandoned.Add(1)
			return 0, ctx.Err()
		}
		res := <-r.done
		return res.n, res.err
	}
}

// enqueue puts r on the writer's queue, waiting while the queue is full.
func (e *Engine) enqueue(ctx context.Context, r *request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed.Load() {
		return ErrClosed
	}
	select {
	case e.queue <- r:
		return nil
	default:
	}
	select {
	case e.queue <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runWriter is the writer goroutine: it takes the first waiting request,
// gathers whatever else is already queued (up to MaxBatchRows rows), commits
// the batch in one transaction, and answers each caller. It returns once the
// queue is closed and drained.
func (e *Engine) runWriter() {
	defer close(e.writerDone)
	ctx := context.Background()
	var batch []*request
	for first := range e.queue {
		if e.ckpt != nil {
			e.ckpt.assist(ctx, e.writeDB)
		}
		batch = batch[:0]
		rows := 0
		take := func(r *request) {
			if r.state.CompareAndSwap(stateQueued, stateTaken) {
				batch = append(batch, r)
				rows += len(r.rows) + 1
			}
		}
		take(first)
	gather:
		for rows < e.cfg.MaxBatchRows {
			select {
			case r, ok := <-e.queue:
				if !ok {
					break gather
				}
				take(r)
			default:
				break gather
			}
		}
		if len(batch) > 0 {
			e.commit(ctx, batch)
			if e.ckpt != nil {
				e.ckpt.committed()
			}
		}
		clear(batch) // drop references to answered requests
		// The callers just answered were made runnable on this P; let them
		// run (and, most of them, store again) before the next gather, so
		// the next batch is not just whoever was quick.
		runtime.Gosched()
	}
}

// commit writes batch in one transaction. If that fails, the requests are
// retried one transaction each, so a request that cannot be written fails
// alone and the others still commit.
func (e *Engine) commit(ctx context.Context, batch []*request) {
	ns := make([]int64, len(batch))
	err := e.inTx(ctx, func(q *db.Queries) error {
		for i, r := range batch {
			n, err := r.apply(ctx, q)
			if err != nil {
				return err
			}
			ns[i] = n
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		e.stats.batches.Add(1)
		for i, r := range batch {
			e.answer(r, ns[i], err)
		}
		return
	}
	e.cfg.Logger.Warn("rechist: batch failed, retrying its requests one by one",
		slog.Int("requests", len(batch)), slog.Any(logKeyError, err))
	for _, r := range batch {
		var n int64
		err := e.inTx(ctx, func(q *db.Queries) (err error) {
			n, err = r.apply(ctx, q)
			return err
		})
		e.stats.batches.Add(1)
		e.answer(r, n, err)
	}
}

// answer records r's outcome in the statistics and wakes its caller.
func (e *Engine) answer(r *request, n int64, err error) {
	switch {
	case err != nil:
		e.stats.writeErrors.Add(1)
		op := "store"
		if r.rows == nil {
			op = "cleanup"
		}
		err = opError(op, err)
		n = 0
	case r.rows == nil:
		e.stats.rowsDeleted.Add(n)
	default:
		e.stats.rowsWritten.Add(n)
	}
	r.done <- result{n: n, err: err}
}

// inTx runs fn in one immediate write transaction on the writer connection.
func (e *Engine) inTx(ctx context.Context, fn func(q *db.Queries) error) error {
	tx, err := e.writeDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	q := db.New(&txStmts{tx: tx, stmts: e.writeSt, bound: map[string]*sql.Stmt{}})
	if err := fn(q); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Insert writes rows in one atomic request through the writer and returns
// once they are committed. Every row is validated first; if any is invalid
// nothing is written and the error (wrapping ErrInvalidArgument) names it.
// See submit for what ctx ending means.
func (e *Engine) Insert(ctx context.Context, rows []Row) error {
	const op = "store"
	if len(rows) == 0 {
		return nil
	}
	for i := range rows {
		if problem := rows[i].problem(); problem != "" {
			if len(rows) > 1 {
				return Invalidf(op, "record %d of %d: %s", i, len(rows), problem)
			}
			return Invalidf(op, "%s", problem)
		}
	}
	if e.closed.Load() {
		return ErrClosed
	}
	r := newRequest()
	r.rows = rows
	e.stats.requests.Add(1)
	_, err := e.submit(ctx, r)
	return err
}
