package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/postgres/internal/db"
)

// Read runs fn in one REPEATABLE READ, read-only transaction: every record
// it reads comes from the same snapshot.
func (e *engine) Read(ctx context.Context, fn func(core.Reader) error) error {
	tx, err := e.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // read-only: nothing to keep
	return fn(e.reader(tx, e.q.WithTx(tx)))
}

// Reader returns the reader of the pool: each call its own snapshot, with
// no BEGIN and no ROLLBACK around it.
func (e *engine) Reader() core.Reader {
	return e.reader(e.pool, e.q)
}

func (e *engine) reader(conn db.DBTX, q *db.Queries) *reader {
	return &reader{conn: conn, q: q, pool: e.pool, names: e.names, widthMs: e.parts.width()}
}

// reader is core.Reader on a read transaction (Read) or on the pool
// (Reader).
type reader struct {
	conn db.DBTX // pgx.Tx or *pgxpool.Pool
	q    *db.Queries
	pool *pgxpool.Pool // for a reader on the pool's read of several statements

	tiersPresent *bool // in a transaction: whether the tiers' tables exist, once asked (tiers.go)
	names        bool  // whether the schema has the names table (names.go)
	widthMs      int64 // the partitions' width; 0: not partitioned (partitions.go)
}

func (r *reader) Rows(ctx context.Context, name string, rg core.Range, yield func(core.Row) bool) error {
	if r.widthMs > 0 && rg.LimitPerRecord > 0 && !rg.OldestFirst {
		return r.rowsPartitioned(ctx, name, rg, yield)
	}
	lim := pgtype.Int8{Int64: rg.LimitPerRecord, Valid: rg.LimitPerRecord > 0}
	query := db.RecordRows
	if rg.OldestFirst {
		query = db.RecordRowsOldest
	}
	rows, err := r.conn.Query(ctx, pruned(query, r.widthMs, rg.StartMs, rg.EndMs), name, rg.StartMs, rg.EndMs, lim)
	if err != nil {
		return err
	}
	return yieldRows(rows, yield)
}

func (r *reader) Aggregate(ctx context.Context, name string, a core.AggSpec) ([]core.Bucket, error) {
	path := a.Path
	if path == nil {
		path = []string{}
	}
	got, err := r.q.AggregateRecord(ctx, db.AggregateRecordParams{
		EveryMs: a.EveryMs, Path: path, Name: name, StartMs: a.StartMs, EndMs: a.EndMs,
	})
	if err != nil {
		return nil, err
	}
	out := make([]core.Bucket, len(got))
	for i, g := range got {
		sum, ok := core.ParseDecimalSum(g.Sum)
		if !ok {
			return nil, fmt.Errorf("aggregate: the server's sum %.40q is not a decimal", g.Sum)
		}
		out[i] = core.Bucket{StartMs: g.Bucket, Count: g.N, Min: g.MinX, Max: g.MaxX, Sum: sum.Sum(),
			First: g.FirstX, Last: g.LastX, Mean: sum.Mean(g.N)}
	}
	return out, nil
}

func (r *reader) ChangesAfter(ctx context.Context, after int64, limit int, yield func(core.Row) bool) error {
	rows, err := r.conn.Query(ctx, db.ChangesAfter, after, int64(limit))
	if err != nil {
		return err
	}
	return yieldRows(rows, yield)
}

func (r *reader) LastID(ctx context.Context) (int64, error) {
	return r.q.LastID(ctx)
}

// yieldRows scans (id, record_name, value_json, stored_at) rows into yield
// until it returns false, and closes rows.
func yieldRows(rows pgx.Rows, yield func(core.Row) bool) error {
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
