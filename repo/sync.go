package repo

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/repo/internal/syncdb"
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

// tableExists says whether the file has a table of that name.
const tableExists = `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?)`

// missingTable reports whether err is a query of table failing because the
// file has no such table (a file opened read-only that predates the
// table's migration). SQLite reports that as its generic SQLITE_ERROR, so
// the table is looked up in the same snapshot; any other failure, a table
// of another shape included, stays an error.
func (r *reader) missingTable(ctx context.Context, err error, table string) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_ERROR {
		return false
	}
	var exists bool
	return r.conn.QueryRowContext(ctx, tableExists, table).Scan(&exists) == nil && !exists
}

func (r *reader) IDHighWater(ctx context.Context) (int64, error) {
	return syncdb.New(r.conn).IDHighWater(ctx)
}

func (r *reader) SourceID(ctx context.Context) (string, error) {
	id, err := syncdb.New(r.conn).SourceID(ctx)
	if errors.Is(err, sql.ErrNoRows) || r.missingTable(ctx, err, "rechist_meta") {
		return "", core.ErrNoSourceID
	}
	return id, err
}

// SyncCursor reads the cursor and its epoch in one statement where the
// file has both tables (every writable one: a destination is migrated).
func (r *reader) SyncCursor(ctx context.Context, id string) (core.SyncCursor, error) {
	q := syncdb.New(r.conn)
	got, err := q.SyncCursorWithEpoch(ctx, id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return core.SyncCursor{}, nil
	case err != nil && r.missingTable(ctx, err, "rechist_sync_cursor_epoch"):
		return r.syncCursorOfAnOlderFile(ctx, id)
	case err != nil && r.missingTable(ctx, err, "rechist_sync_cursor"):
		return core.SyncCursor{}, nil
	case err != nil:
		return core.SyncCursor{}, err
	}
	return core.SyncCursor{LastID: got.LastID, LastHash: got.LastHash, LastEpoch: got.LastEpoch, Sent: got.RowsSent, Missed: got.RowsMissed, UpdatedMs: got.UpdatedAt}, nil
}

// syncCursorOfAnOlderFile is SyncCursor for a file opened read-only that
// predates the epoch table.
func (r *reader) syncCursorOfAnOlderFile(ctx context.Context, id string) (core.SyncCursor, error) {
	got, err := syncdb.New(r.conn).SyncCursor(ctx, id)
	switch {
	case errors.Is(err, sql.ErrNoRows) || r.missingTable(ctx, err, "rechist_sync_cursor"):
		return core.SyncCursor{}, nil
	case err != nil:
		return core.SyncCursor{}, err
	}
	return core.SyncCursor{LastID: got.LastID, LastHash: got.LastHash, Sent: got.RowsSent, Missed: got.RowsMissed, UpdatedMs: got.UpdatedAt}, nil
}

func (r *reader) SyncEpoch(ctx context.Context, id int64) (string, error) {
	token, err := syncdb.New(r.conn).SyncEpoch(ctx, id)
	if errors.Is(err, sql.ErrNoRows) || r.missingTable(ctx, err, "rechist_sync_epoch") {
		return "", nil
	}
	return token, err
}
