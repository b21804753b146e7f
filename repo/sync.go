package repo

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/seed178a96f3/rechist/db/syncdb"
	"github.com/seed178a96f3/rechist/internal/core"
)

// The sync queries (package syncdb) are not prepared at Open: their tables
// come with migration 00003, which a file opened read-only may predate.

// moveSyncCursor checks and moves a KindSync request's cursor inside the
// write transaction (which holds SQLite's write lock, so no other
// connection moves it meanwhile); the request's rows are inserted by the
// caller in the same transaction.
func moveSyncCursor(ctx context.Context, q *syncdb.Queries, r *core.Request) error {
	got, err := q.SyncCursor(ctx, r.Sync.Source)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	next, err := r.Sync.Next(core.SyncCursor{LastID: got.LastID, LastHash: got.LastHash, Sent: got.RowsSent, Missed: got.RowsMissed}, len(r.Rows))
	if err != nil {
		return &core.RequestError{Request: r, Err: err}
	}
	return q.SetSyncCursor(ctx, syncdb.SetSyncCursorParams{SourceID: r.Sync.Source, LastID: next.LastID, LastHash: next.LastHash,
		RowsSent: next.Sent, RowsMissed: next.Missed, UpdatedAt: next.UpdatedMs})
}

func (r *reader) IDHighWater(ctx context.Context) (int64, error) {
	return syncdb.New(r.tx).IDHighWater(ctx)
}

func (r *reader) SourceID(ctx context.Context) (string, error) {
	id, err := syncdb.New(r.tx).SourceID(ctx)
	if errors.Is(err, sql.ErrNoRows) || (err != nil && strings.Contains(err.Error(), "no such table")) {
		return "", core.ErrNoSourceID
	}
	return id, err
}

func (r *reader) SyncCursor(ctx context.Context, id string) (core.SyncCursor, error) {
	got, err := syncdb.New(r.tx).SyncCursor(ctx, id)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err != nil && strings.Contains(err.Error(), "no such table")):
		return core.SyncCursor{}, nil
	case err != nil:
		return core.SyncCursor{}, err
	}
	return core.SyncCursor{LastID: got.LastID, LastHash: got.LastHash, Sent: got.RowsSent, Missed: got.RowsMissed, UpdatedMs: got.UpdatedAt}, nil
}
