package repo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/seed178a96f3/rechist/db"
	"github.com/seed178a96f3/rechist/repo/internal/syncdb"
)

// writerQueries are the generated queries the writer runs often enough to
// prepare once per engine; any other statement is prepared on the
// transaction that runs it (txStmts.stmt), so a new kind of request needs
// no line here unless it is hot.
var writerQueries = []string{db.InsertRecord, db.InsertRecords8, db.DeleteOlderThanChunk, db.DeleteRecordRangeChunk, syncdb.SyncCursor, syncdb.SetSyncCursor, syncdb.SetSourceID,
	syncdb.SetSyncCursorEpoch, syncdb.StartSyncEpoch, syncdb.SetWriterCounts, syncdb.AddNamedRows}

// writerStmts holds the writer's prepared statements, keyed by the SQL text
// of the generated queries. They are prepared at Open: the writer's pool
// has one connection, which a transaction holds.
type writerStmts struct {
	prepared map[string]*sql.Stmt
}

func prepareWriterStmts(ctx context.Context, conn *sql.DB) (*writerStmts, error) {
	w := &writerStmts{prepared: map[string]*sql.Stmt{}}
	for _, q := range writerQueries {
		st, err := conn.PrepareContext(ctx, q)
		if err != nil {
			return w, err
		}
		w.prepared[q] = st
	}
	return w, nil
}

func (w *writerStmts) get(query string) (*sql.Stmt, error) {
	if st, ok := w.prepared[query]; ok {
		return st, nil
	}
	return nil, fmt.Errorf("rechist: internal error: the writer has no prepared statement for %.40q", query)
}

// lookup returns the statement prepared for query at Open, or nil.
func (w *writerStmts) lookup(query string) *sql.Stmt { return w.prepared[query] }

func (w *writerStmts) close() error {
	var errs []error
	for _, st := range w.prepared {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}

// txStmts is the DBTX that the generated queries run on inside a write
// transaction. Each statement is prepared once per engine and bound to the
// transaction once, on first use: sqlc's own prepared mode binds it again
// on every call (Tx.StmtContext allocates a statement per row and keeps it
// until the commit), which a batch of thousands of rows pays for.
type txStmts struct {
	tx    *sql.Tx
	stmts *writerStmts
	bound map[string]*sql.Stmt
}

func (t *txStmts) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := t.bound[query]; ok {
		return st, nil
	}
	prepared := t.stmts.lookup(query)
	var st *sql.Stmt
	var err error
	if prepared != nil {
		st = t.tx.StmtContext(ctx, prepared)
	} else if st, err = t.tx.PrepareContext(ctx, query); err != nil {
		return nil, err // closed with the transaction
	}
	t.bound[query] = st
	return st, nil
}

func (t *txStmts) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (t *txStmts) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.stmt(ctx, query)
}

func (t *txStmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (t *txStmts) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := t.stmt(ctx, query)
	if err != nil {
		// sql.Row carries no error of its own making; the transaction's
		// QueryRowContext reports the same failure through Scan.
		return t.tx.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}
