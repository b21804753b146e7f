package repo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/seed178a96f3/rechist/db"
	"github.com/seed178a96f3/rechist/db/syncdb"
	"github.com/seed178a96f3/rechist/internal/core"
)

// Commit runs the whole batch in one immediate write transaction on the
// writer connection. A BEGIN that meets another connection's write lock
// fails after a short wait (writerBusyTimeout) as Retryable: the core tries
// the batch again until its deadline, honouring its callers' ctx between
// tries. A statement that fails on one request's data is a RequestError.
func (e *engine) Commit(ctx context.Context, batch []*core.Request) error {
	tx, err := e.writeDB.BeginTx(ctx, nil)
	if err != nil {
		err = fmt.Errorf("begin: %w", err)
		if classify(err) == core.ErrBusy {
			return core.Retryable(err)
		}
		return err
	}
	ts := &txStmts{tx: tx, stmts: e.writeSt, bound: map[string]*sql.Stmt{}}
	q, sq := db.New(ts), syncdb.New(ts)
	for _, r := range batch {
		if r.N, err = applyRequest(ctx, q, sq, r); err != nil {
			_ = tx.Rollback()
			var re *core.RequestError
			if errors.As(err, &re) {
				return err
			}
			if requestsFault(err) {
				return &core.RequestError{Request: r, Err: err}
			}
			return err
		}
		if r.Kind == core.KindDeleteChunk || r.Kind == core.KindDeleteRange {
			// Inside this write transaction no other connection deletes:
			// a short chunk is the last one.
			r.More = r.N == r.Chunk
		}
	}
	if err := tx.Commit(); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// applyRequest runs one request's statements inside the transaction.
func applyRequest(ctx context.Context, q *db.Queries, sq *syncdb.Queries, r *core.Request) (int64, error) {
	switch r.Kind {
	case core.KindDeleteChunk:
		return q.DeleteOlderThanChunk(ctx, db.DeleteOlderThanChunkParams{CutoffMs: r.CutoffMs, ChunkSize: r.Chunk})
	case core.KindDeleteRange:
		return q.DeleteRecordRangeChunk(ctx, db.DeleteRecordRangeChunkParams{Name: r.Name, StartMs: r.StartMs, EndMs: r.CutoffMs, ChunkSize: r.Chunk})
	case core.KindSync:
		if err := moveSyncCursor(ctx, sq, r); err != nil {
			return 0, err
		}
	}
	for i := range r.Rows {
		row := &r.Rows[i]
		err := q.InsertRecord(ctx, db.InsertRecordParams{RecordName: row.Name, ValueJson: row.ValueJSON, StoredAt: row.StoredAt})
		if err != nil {
			return 0, err
		}
	}
	return int64(len(r.Rows)), nil
}

// requestsFault reports whether a statement failed because of the request's
// own data (a constraint, a trigger's RAISE, a value too big) rather than
// the database's state.
func requestsFault(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH:
		return true
	}
	return false
}
