package repo

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/seed178a96f3/rechist/db/syncdb"
	"github.com/seed178a96f3/rechist/internal/core"
)

// The sync queries (package syncdb) are not prepared at Open: their tables
// come with migrations 00003 and 00004, which a file opened read-only may
// predate.

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
	err = q.SetSyncCursor(ctx, syncdb.SetSyncCursorParams{SourceID: r.Sync.Source, LastID: next.LastID, LastHash: next.LastHash,
		RowsSent: next.Sent, RowsMissed: next.Missed, UpdatedAt: next.UpdatedMs})
	if err != nil {
		return err
	}
	return q.SetSyncCursorEpoch(ctx, syncdb.SetSyncCursorEpochParams{SourceID: r.Sync.Source, LastEpoch: next.LastEpoch})
}

// syncEpoch is whether the engine's DB handle has begun its epoch of the
// file's row ids (core.WritesRows): its first batch that stores rows does,
// in the batch's transaction, and only a commit makes it so.
type syncEpoch struct{ begun atomic.Bool }

// begin starts the epoch inside the write transaction when batch is the
// handle's first to store rows, and says whether it did.
func (s *syncEpoch) begin(ctx context.Context, q *syncdb.Queries, batch []*core.Request) (bool, error) {
	if s.begun.Load() || !core.WritesRows(batch) {
		return false, nil
	}
	return true, q.StartSyncEpoch(ctx)
}

// committed records that the transaction in which begin started the epoch
// (started) committed.
func (s *syncEpoch) committed(started bool) {
	if started {
		s.begun.Store(true)
	}
}

// missingSchema reports whether err says that a sync table (or column) is
// not in the file: a file opened read-only that predates its migration.
func missingSchema(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "no such table") || strings.Contains(err.Error(), "no such column"))
}

func (r *reader) IDHighWater(ctx context.Context) (int64, error) {
	return syncdb.New(r.tx).IDHighWater(ctx)
}

func (r *reader) SourceID(ctx context.Context) (string, error) {
	id, err := syncdb.New(r.tx).SourceID(ctx)
	if errors.Is(err, sql.ErrNoRows) || missingSchema(err) {
		return "", core.ErrNoSourceID
	}
	return id, err
}

func (r *reader) SyncCursor(ctx context.Context, id string) (core.SyncCursor, error) {
	q := syncdb.New(r.tx)
	got, err := q.SyncCursor(ctx, id)
	switch {
	case errors.Is(err, sql.ErrNoRows) || missingSchema(err):
		return core.SyncCursor{}, nil
	case err != nil:
		return core.SyncCursor{}, err
	}
	epoch, err := q.SyncCursorEpoch(ctx, id)
	if err != nil && !errors.Is(err, sql.ErrNoRows) && !missingSchema(err) {
		return core.SyncCursor{}, err
	}
	return core.SyncCursor{LastID: got.LastID, LastHash: got.LastHash, LastEpoch: epoch, Sent: got.RowsSent, Missed: got.RowsMissed, UpdatedMs: got.UpdatedAt}, nil
}

func (r *reader) SyncEpoch(ctx context.Context, id int64) (string, error) {
	token, err := syncdb.New(r.tx).SyncEpoch(ctx, id)
	if errors.Is(err, sql.ErrNoRows) || missingSchema(err) {
		return "", nil
	}
	return token, err
}
