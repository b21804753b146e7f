package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/postgres/db"
)

// moveSyncCursor checks and moves a KindSync request's cursor inside the
// write transaction; the commit-order lock it took first keeps every other
// rechist writer of the schema out until COMMIT. The request's rows are
// inserted by the caller in the same transaction.
func moveSyncCursor(ctx context.Context, q *db.Queries, r *core.Request) error {
	got, err := q.SyncCursor(ctx, r.Sync.Source)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return statementError(nil, err)
	}
	next, err := r.Sync.Next(core.SyncCursor{LastID: got.LastID, LastHash: got.LastHash, Sent: got.RowsSent, Missed: got.RowsMissed}, len(r.Rows))
	if err != nil {
		return &core.RequestError{Request: r, Err: err}
	}
	err = q.SetSyncCursor(ctx, db.SetSyncCursorParams{SourceID: r.Sync.Source, LastID: next.LastID, LastHash: next.LastHash,
		RowsSent: next.Sent, RowsMissed: next.Missed, UpdatedAt: next.UpdatedMs})
	if err != nil {
		return statementError(r, err)
	}
	return nil
}

// undefinedTable reports whether err is SQLSTATE 42P01: a schema that
// predates the sync migration.
func undefinedTable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42P01"
}

func (r *reader) IDHighWater(ctx context.Context) (int64, error) { return r.q.IDHighWater(ctx) }

func (r *reader) SourceID(ctx context.Context) (string, error) {
	id, err := r.q.SourceID(ctx)
	if errors.Is(err, pgx.ErrNoRows) || undefinedTable(err) {
		return "", core.ErrNoSourceID
	}
	return id, err
}

func (r *reader) SyncCursor(ctx context.Context, id string) (core.SyncCursor, error) {
	got, err := r.q.SyncCursor(ctx, id)
	switch {
	case errors.Is(err, pgx.ErrNoRows) || undefinedTable(err):
		return core.SyncCursor{}, nil
	case err != nil:
		return core.SyncCursor{}, err
	}
	return core.SyncCursor{LastID: got.LastID, LastHash: got.LastHash, Sent: got.RowsSent, Missed: got.RowsMissed, UpdatedMs: got.UpdatedAt}, nil
}
