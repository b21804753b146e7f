package repo

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/seed178a96f3/rechist/db"
)

// Insert writes rows in one atomic request through the writer goroutine;
// see [Writer.Insert] for validation and what ctx ending means.
func (e *Engine) Insert(ctx context.Context, rows []Row) error { return e.w.Insert(ctx, rows) }

// Cleanup deletes every row stored before cutoffMs (Unix ms, exclusive) and
// returns how many it deleted, in chunks of at most CleanupChunk rows; see
// [Writer.Cleanup].
func (e *Engine) Cleanup(ctx context.Context, cutoffMs int64) (int64, error) {
	return e.w.Cleanup(ctx, cutoffMs)
}

// commitBatch is the engine's CommitFunc: the whole batch in one immediate
// write transaction on the writer connection.
func (e *Engine) commitBatch(ctx context.Context, batch []*Request, ns []int64) error {
	tx, err := e.writeDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	q := db.New(&txStmts{tx: tx, stmts: e.writeSt, bound: map[string]*sql.Stmt{}})
	for i, r := range batch {
		if ns[i], err = applyRequest(ctx, q, r); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// applyRequest runs one request's statements inside the transaction.
func applyRequest(ctx context.Context, q *db.Queries, r *Request) (int64, error) {
	if r.Rows == nil {
		return q.DeleteOlderThanChunk(ctx, db.DeleteOlderThanChunkParams{CutoffMs: r.CutoffMs, ChunkSize: r.Chunk})
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
