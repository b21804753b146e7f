package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/postgres/internal/db"
)

// copyRows is the request size from which rows go through COPY rather than
// one INSERT of arrays.
const copyRows = 1000

// Commit runs the batch in one transaction, its requests in queue order:
// the rows of consecutive small insert requests in a single INSERT, large
// ones through COPY, cleanup chunks as DELETEs. So rows get ids in the
// order their requests were queued, and a delete removes what was queued
// before it and not what was queued after, as on SQLite. ctx (the batch
// deadline) bounds every wait, a lock included.
//
// The transaction first takes the schema's writer lock (BeginWrite): in
// shared mode when the batch only inserts and deletes rows and moves sync
// cursors, so that the writers of every process on the schema run side by
// side, each sync source's pushes taking turns on its cursor row
// (lockSyncCursors); exclusively when it must see no other writer at work
// (alone). Rows then commit in any order of their ids, which followers
// handle (reader.FinalID). The handle's first batch that stores rows
// begins its sync epoch (sync.go).
//
// The transaction's id is read before COMMIT. If the connection is lost
// while COMMIT is on its way (no answer from the server), the commit may or
// may not have happened; the engine then asks the server on another
// connection (pg_xact_status) and answers with what happened, or with
// ErrOutcomeUnknown when it cannot find out. It never reports a lost
// commit as a plain failure, which a caller could retry into a duplicate.
//
// A batch of small inserts and sync pushes takes a shorter path
// (commitPipelined).
func (e *engine) Commit(ctx context.Context, batch []*core.Request) error {
	if e.parts.width() > 0 {
		if err := e.parts.ensure(ctx, e.q, batchTimes(batch)); err != nil {
			return err
		}
	}
	err := e.commit(ctx, batch)
	if !noPartition(err) {
		return err
	}
	// A partition the engine knew of was dropped (retention of another
	// process), or the table was partitioned since Open: the INSERT failed,
	// so nothing was written, and the batch runs again once its partitions
	// exist.
	if err := e.parts.load(ctx, e.q); err != nil {
		return err
	}
	if err := e.parts.ensure(ctx, e.q, batchTimes(batch)); err != nil {
		return err
	}
	return e.commit(ctx, batch)
}

// commit is Commit once the partitions of the batch's rows exist.
func (e *engine) commit(ctx context.Context, batch []*core.Request) error {
	if pipelined(batch) {
		return e.commitPipelined(ctx, batch)
	}
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // a no-op after Commit
	q := e.q.WithTx(tx)
	begin := q.BeginWrite
	if alone(batch) {
		begin = q.BeginWriteAlone
	}
	xid, err := begin(ctx, e.writerLock)
	if err != nil {
		return statementError(nil, err)
	}
	if err := lockSyncCursors(ctx, q, batch); err != nil {
		return err
	}
	epochStarted, err := e.epoch.begin(ctx, q, batch)
	if err != nil {
		return err
	}
	if err := applyBatch(ctx, tx, q, batch); err != nil {
		return err
	}
	err = tx.Commit(ctx)
	if err == nil {
		e.epoch.committed(epochStarted)
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return fmt.Errorf("commit: %w", err) // the server answered: rolled back
	}
	return e.learnOutcome(xid, fmt.Errorf("commit: %w", err))
}

// applyBatch runs the batch's statements inside the transaction, in queue
// order: the rows of small insert requests are pooled into one INSERT,
// which runs before any other statement (a COPY, a DELETE), so no row
// overtakes a request queued before it.
func applyBatch(ctx context.Context, tx pgx.Tx, q *db.Queries, batch []*core.Request) error {
	var arr db.InsertRecordsParams
	flush := func() error {
		if len(arr.RecordNames) == 0 {
			return nil
		}
		if err := q.InsertRecords(ctx, arr); err != nil {
			return statementError(nil, err) // rows of several requests: which one is unknown
		}
		arr.RecordNames, arr.ValueJsons, arr.StoredAts = arr.RecordNames[:0], arr.ValueJsons[:0], arr.StoredAts[:0]
		return nil
	}
	var err error
	for _, r := range batch {
		if !pooled(r) {
			if err = flush(); err != nil {
				return err
			}
		}
		switch {
		case r.Kind == core.KindDeleteChunk:
			d, err := q.DeleteOlderThanChunk(ctx, db.DeleteOlderThanChunkParams{FromName: r.Name, CutoffMs: r.CutoffMs, ChunkSize: r.Chunk})
			if err != nil {
				return statementError(r, err)
			}
			r.N, r.LastName = d.N, d.LastName
			// Under READ COMMITTED a concurrent cleanup may have deleted
			// part of this chunk first: a short chunk proves nothing, so
			// look (in a snapshot of this statement's own) for what is left.
			r.More = r.N == r.Chunk
			if !r.More {
				if r.More, err = q.AnyOlderThan(ctx, r.CutoffMs); err != nil {
					return statementError(nil, err)
				}
			}
		case r.Kind == core.KindDeleteRange:
			d, err := q.DeleteRecordRangeChunk(ctx, db.DeleteRecordRangeChunkParams{Name: r.Name, StartMs: r.StartMs, EndMs: r.CutoffMs, ChunkSize: r.Chunk})
			if err != nil {
				return statementError(r, err)
			}
			r.N, r.LastMs = d.N, d.LastMs
			r.More = r.N == r.Chunk
			if !r.More {
				if r.More, err = q.AnyInRange(ctx, db.AnyInRangeParams{Name: r.Name, StartMs: r.StartMs, EndMs: r.CutoffMs}); err != nil {
					return statementError(nil, err)
				}
			}
		case r.Kind == core.KindSetSourceID:
			if err := setSourceID(ctx, q, r.Name); err != nil {
				return statementError(r, err)
			}
		case r.Kind == core.KindTiers:
			if r.N, err = r.Tiers(ctx, &tierStore{tx: tx, q: q}); err != nil {
				return statementError(r, err)
			}
		case r.Kind == core.KindSync && len(r.Rows) < copyRows:
			if err := moveSyncCursor(ctx, q, r); err != nil {
				return err
			}
			r.N = int64(len(r.Rows))
			for _, row := range r.Rows {
				arr.RecordNames = append(arr.RecordNames, row.Name)
				arr.ValueJsons = append(arr.ValueJsons, row.ValueJSON)
				arr.StoredAts = append(arr.StoredAts, row.StoredAt)
			}
		case len(r.Rows) >= copyRows:
			if r.Kind == core.KindSync {
				if err := moveSyncCursor(ctx, q, r); err != nil {
					return err
				}
			}
			params := make([]db.CopyRecordsParams, len(r.Rows))
			for j, row := range r.Rows {
				params[j] = db.CopyRecordsParams{RecordName: row.Name, ValueJson: row.ValueJSON, StoredAt: row.StoredAt}
			}
			if r.N, err = q.CopyRecords(ctx, params); err != nil {
				return statementError(r, err)
			}
		default:
			for _, row := range r.Rows {
				arr.RecordNames = append(arr.RecordNames, row.Name)
				arr.ValueJsons = append(arr.ValueJsons, row.ValueJSON)
				arr.StoredAts = append(arr.StoredAts, row.StoredAt)
			}
			r.N = int64(len(r.Rows))
		}
	}
	return flush()
}

// alone says whether the batch must hold the writer lock alone: a rollup
// reads rows after its cursor in id order and a policy change fills tiers
// from them (both need every id below the newest final), and a new source
// id is rare enough not to matter.
func alone(batch []*core.Request) bool {
	for _, r := range batch {
		if r.Kind == core.KindTiers || r.Kind == core.KindSetSourceID {
			return true
		}
	}
	return false
}

// pooled says whether r's rows go into the batch's pooled INSERT: an
// insert or sync request of fewer than copyRows rows.
func pooled(r *core.Request) bool {
	return (r.Kind == core.KindInsert || r.Kind == core.KindSync) && len(r.Rows) < copyRows
}

// statementError sorts a failed statement's error for the core: the
// request's own data refused (SQLSTATE classes 22 data exception, 23
// integrity constraint, 54 program limit, P0 raised by a trigger) is a
// RequestError (r nil: one of the requests of the statement), a lock
// timeout or a deadlock is Retryable, anything else fails the batch. A
// RequestError (a KindTiers request's function may return one) is already
// sorted: it goes on unchanged.
func statementError(r *core.Request, err error) error {
	var re *core.RequestError
	if errors.As(err, &re) {
		return err
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || len(pe.Code) != 5 {
		return err
	}
	switch pe.Code[:2] {
	case "22", "23", "54", "P0":
		return &core.RequestError{Request: r, Err: err}
	}
	switch pe.Code {
	case "55P03", "40P01":
		// A lock timeout, or a deadlock the server broke by rolling this
		// transaction back (writers side by side lock the names table's
		// and sync cursors' rows; statements of two batches can meet in
		// opposite orders): nothing was written, and a new try may pass.
		return core.Retryable(err)
	}
	return err
}

// outcomeWait bounds how long the engine tries to learn the outcome of a
// commit whose connection was lost.
var outcomeWait = 10 * time.Second

// learnOutcome asks the server, on a new connection, what became of the
// transaction xid whose COMMIT got no answer (commitErr): nil if it
// committed, commitErr if it aborted, ErrOutcomeUnknown if the server
// cannot be asked or does not know in time.
func (e *engine) learnOutcome(xid string, commitErr error) error {
	return e.learnOutcomeOf(xid, 0, commitErr)
}

// learnOutcomeOf is learnOutcome for a transaction whose session, pid, is
// known: while the transaction is still running and its session stuck
// (waiting for a lock, with the COMMIT behind the statement in the same
// round trip, or idle in it on a connection only the client saw end), the
// session is terminated, which rolls the transaction back, so the answer
// comes at once instead of ErrOutcomeUnknown after outcomeWait. A session
// at work is asked about again after a pause, as without a pid.
func (e *engine) learnOutcomeOf(xid string, pid uint32, commitErr error) error {
	ctx, cancel := context.WithTimeout(context.Background(), outcomeWait)
	defer cancel()
	pause := 10 * time.Millisecond
	for {
		status, ended, err := e.xactStatus(ctx, xid, pid)
		if ended {
			pid = 0 // terminated: its transaction ends
		}
		switch {
		case err == nil && status == "committed":
			e.cfg.Logger.Warn("rechist: connection lost during COMMIT; the server says it committed",
				core.LogKeyXID, xid, core.LogKeyError, commitErr)
			return nil
		case err == nil && status == "aborted":
			return commitErr
		case err == nil && status == "in progress":
			// the server has not finished with it yet: ask again
		case err != nil && ctx.Err() == nil:
			// no connection yet: try again until outcomeWait
		default:
			return fmt.Errorf("%w (transaction %s, status %q, %v): %w", core.ErrOutcomeUnknown, xid, status, err, commitErr)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (transaction %s): %w", core.ErrOutcomeUnknown, xid, commitErr)
		case <-time.After(pause):
			pause = min(2*pause, time.Second)
		}
	}
}

// xactStatus runs XactStatus on a connection of its own (not one the pool
// may hand back broken), and while the transaction is in progress ends
// its session pid if it is stuck (EndStuckBackend; 0: no session to end),
// saying whether it did.
func (e *engine) xactStatus(ctx context.Context, xid string, pid uint32) (status string, ended bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, e.pool.Config().ConnConfig.Copy())
	if err != nil {
		return "", false, err
	}
	defer conn.Close(context.Background())
	q := db.New(conn)
	status, err = q.XactStatus(ctx, xid)
	if err != nil || status != "in progress" || pid == 0 {
		return status, false, err
	}
	// While the transaction runs, its session lives, so pid is still it.
	err = conn.QueryRow(ctx, endStuckBackend, int32(pid)).Scan(&ended)
	return status, ended, err // asked again after a pause
}

// endStuckBackend terminates the session $1 if it is stuck: idle in its
// transaction (waiting for messages that are not coming) or waiting for a
// lock. That rolls the transaction back. A session at work is left alone:
// it may be committing what it was sent. (Not an sqlc query: sqlc's
// catalog has no pg_stat_activity.)
const endStuckBackend = `SELECT COALESCE((
    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE pid = $1 AND (state LIKE 'idle in transaction%' OR wait_event_type = 'Lock')
), false)`
