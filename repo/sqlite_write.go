package repo

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/seed178a96f3/rechist/db"
	"github.com/seed178a96f3/rechist/internal/core"
)

// Commit runs the whole batch in one immediate write transaction on the
// writer connection.
func (e *engine) Commit(ctx context.Context, batch []*core.Request) error {
	tx, err := e.writeDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	q := db.New(&txStmts{tx: tx, stmts: e.writeSt, bound: map[string]*sql.Stmt{}})
	for _, r := range batch {
		if r.N, err = applyRequest(ctx, q, r); err != nil {
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
func applyRequest(ctx context.Context, q *db.Queries, r *core.Request) (int64, error) {
	if r.Kind == core.KindDeleteChunk {
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
