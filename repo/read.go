package repo

import (
	"context"
	"database/sql"
	"math"
	"sync"

	"github.com/seed178a96f3/rechist/db"
	"github.com/seed178a96f3/rechist/internal/core"
)

// Read runs fn in one read transaction on the read pool: every record it
// reads comes from the same snapshot. It does not hold the read gate (a
// stream lasts as long as its consumer wants): while it runs, the WAL
// cannot start over, as with a reader in another process.
func (e *engine) Read(ctx context.Context, fn func(core.Reader) error) error {
	tx, err := e.readDB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to keep
	return fn(&reader{conn: tx, q: e.readQ.WithTx(tx), gate: &e.readGate})
}

// Reader returns the reader of the read pool: each call its own snapshot,
// on statements prepared once (readQ).
func (e *engine) Reader() core.Reader {
	return &reader{conn: e.readDB, q: e.readQ, gate: &e.readGate}
}

// reader is core.Reader on a read transaction (Read) or on the read pool
// (Reader).
type reader struct {
	conn db.DBTX // *sql.Tx or *sql.DB
	q    *db.Queries
	gate *sync.RWMutex // the engine's readGate: see Query
}

func (r *reader) Rows(ctx context.Context, name string, rg core.Range, yield func(core.Row) bool) error {
	lim := rg.LimitPerRecord
	if lim <= 0 {
		lim = -1
	}
	query := db.RecordRows
	if rg.OldestFirst {
		query = db.RecordRowsOldest
	}
	rows, err := r.conn.QueryContext(ctx, query, name, rg.StartMs, rg.EndMs, lim)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		row := core.Row{Name: name}
		if err := rows.Scan(&row.ID, &row.ValueJSON, &row.StoredAt); err != nil {
			return err
		}
		if !yield(row) {
			return nil
		}
	}
	return rows.Err()
}

func (r *reader) Aggregate(ctx context.Context, name string, a core.AggSpec) ([]core.Bucket, error) {
	return r.aggregate(ctx, name, a)
}

func (r *reader) ChangesAfter(ctx context.Context, after int64, limit int, yield func(core.Row) bool) error {
	rows, err := r.conn.QueryContext(ctx, db.ChangesAfter, after, limit)
	if err != nil {
		return err
	}
	return yieldRows(rows, yield)
}

func (r *reader) LastID(ctx context.Context) (int64, error) {
	return r.q.LastID(ctx)
}

// FinalID is every id: SQLite's writers take turns (one write lock per
// file), and AUTOINCREMENT hands out ids under it, so rows commit in id
// order and whatever a snapshot holds is final.
func (r *reader) FinalID(context.Context) (int64, error) { return math.MaxInt64, nil }

// yieldRows scans (id, record_name, value_json, stored_at) rows into yield
// until it returns false, and closes rows.
func yieldRows(rows *sql.Rows, yield func(core.Row) bool) error {
	defer rows.Close()
	for rows.Next() {
		var row core.Row
		if err := rows.Scan(&row.ID, &row.Name, &row.ValueJSON, &row.StoredAt); err != nil {
			return err
		}
		if !yield(row) {
			return nil
		}
	}
	return rows.Err()
}
