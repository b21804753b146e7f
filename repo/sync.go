package repo

import (
	"context"
	"database/sql"
	"errors"
	"strings"
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
	st := r.Sync
	if st.Forget {
		return forgetSyncSource(ctx, q, st.Source)
	}
	before, err := writerSyncCursor(ctx, q, st.Source)
	if err != nil {
		return err
	}
	next, err := st.Next(before, len(r.Rows))
	if err != nil {
		return &core.RequestError{Request: r, Err: err}
	}
	if st.Adopt {
		parent, err := writerSyncCursor(ctx, q, st.Parent)
		if err != nil {
			return err
		}
		parentEpochs, err := writerSyncEpochs(ctx, q, st.Parent)
		if err != nil {
			return err
		}
		var heirEpochs []core.SyncEpoch
		if parent.ContinuedBy != "" {
			if heirEpochs, err = writerSyncEpochs(ctx, q, parent.ContinuedBy); err != nil {
				return err
			}
		}
		takeovers, err := writerSyncTakeovers(ctx, q, st.Parent)
		if err != nil {
			return err
		}
		parent, mark, err := st.Continue(parent, parentEpochs, heirEpochs, takeovers)
		if err != nil {
			return &core.RequestError{Request: r, Err: err}
		}
		if mark {
			if err := q.SetSyncSource(ctx, setSyncSourceParams(st.Parent, parent)); err != nil {
				return err
			}
		}
		t := st.Takeover()
		if err := q.AddSyncTakeover(ctx, syncdb.AddSyncTakeoverParams{ParentID: st.Parent, SourceID: t.Source, AtID: t.At, Epoch: t.Epoch}); err != nil {
			return err
		}
	}
	err = q.SetSyncCursor(ctx, syncdb.SetSyncCursorParams{SourceID: st.Source, LastID: next.LastID, LastHash: next.LastHash,
		RowsSent: next.Sent, RowsMissed: next.Missed, UpdatedAt: next.UpdatedMs})
	if err != nil {
		return err
	}
	if err := q.SetSyncCursorEpoch(ctx, syncdb.SetSyncCursorEpochParams{SourceID: st.Source, LastEpoch: next.LastEpoch}); err != nil {
		return err
	}
	if next.Filtered {
		if err := q.SetSyncSource(ctx, setSyncSourceParams(st.Source, next)); err != nil {
			return err
		}
	}
	if len(st.Epochs) > 0 {
		at, err := q.SyncSourceEpochAt(ctx, syncdb.SyncSourceEpochAtParams{SourceID: st.Source, ID: st.PrevID})
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if !st.EpochsFit(before, core.SyncEpoch{Start: at.StartID, Token: at.Token}, err == nil) {
			if err := q.ForgetSyncSourceEpochs(ctx, st.Source); err != nil {
				return err
			}
		}
	}
	for _, e := range st.Epochs {
		if err := q.AddSyncSourceEpoch(ctx, syncdb.AddSyncSourceEpochParams{SourceID: st.Source, StartID: e.Start, Token: e.Token}); err != nil {
			return err
		}
	}
	return nil
}

// writerSyncEpochs reads the epochs of a source's ids the file received,
// inside the write transaction (core.SyncStep.Continue).
func writerSyncEpochs(ctx context.Context, q *syncdb.Queries, source string) ([]core.SyncEpoch, error) {
	got, err := q.SyncSourceEpochs(ctx, source)
	if err != nil {
		return nil, err
	}
	out := make([]core.SyncEpoch, len(got))
	for i, g := range got {
		out[i] = core.SyncEpoch{Start: g.StartID, Token: g.Token}
	}
	return out, nil
}

// writerSyncTakeovers reads the takeovers of parent's history the
// destination recorded, inside the takeover's write transaction
// (core.SyncStep.Continue).
func writerSyncTakeovers(ctx context.Context, q *syncdb.Queries, parent string) ([]core.SyncTakeover, error) {
	got, err := q.SyncTakeovers(ctx, parent)
	if err != nil {
		return nil, err
	}
	out := make([]core.SyncTakeover, len(got))
	for i, g := range got {
		out[i] = core.SyncTakeover{Source: g.SourceID, At: g.AtID, Epoch: g.Epoch}
	}
	return out, nil
}

// writerSyncCursor reads a source's cursor and what
// the file remembers of it, inside the write transaction.
func writerSyncCursor(ctx context.Context, q *syncdb.Queries, source string) (core.SyncCursor, error) {
	got, err := q.SyncCursorWithEpoch(ctx, source)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return core.SyncCursor{}, err
	}
	c := core.SyncCursor{LastID: got.LastID, LastHash: got.LastHash, LastEpoch: got.LastEpoch, Sent: got.RowsSent, Missed: got.RowsMissed,
		UpdatedMs: got.UpdatedAt}
	src, err := q.SyncSource(ctx, source)
	switch {
	case err == nil:
		c = withSyncSource(c, src)
	case !errors.Is(err, sql.ErrNoRows):
		return core.SyncCursor{}, err
	}
	return c, nil
}

// withSyncSource is c with what the file remembers of its source.
func withSyncSource(c core.SyncCursor, src syncdb.SyncSourceRow) core.SyncCursor {
	c.Filtered, c.Pattern, c.Prefix, c.Horizon, c.Gone = true, src.Pattern, src.Prefix, src.Horizon, src.RowsGone
	c.ContinuedBy, c.ContinuedAt = src.ContinuedBy, src.ContinuedAt
	return c
}

func setSyncSourceParams(source string, c core.SyncCursor) syncdb.SetSyncSourceParams {
	return syncdb.SetSyncSourceParams{SourceID: source, Pattern: c.Pattern, Prefix: c.Prefix, Horizon: c.Horizon, RowsGone: c.Gone,
		ContinuedBy: c.ContinuedBy, ContinuedAt: c.ContinuedAt}
}

// forgetSyncSource deletes what the file, as a destination, remembers of
// a source (DB.ForgetSyncSource); the rows it received stay.
func forgetSyncSource(ctx context.Context, q *syncdb.Queries, source string) error {
	if _, err := q.ForgetSyncCursor(ctx, source); err != nil {
		return err
	}
	if err := q.ForgetSyncCursorEpoch(ctx, source); err != nil {
		return err
	}
	if err := q.ForgetSyncSource(ctx, source); err != nil {
		return err
	}
	return q.ForgetSyncSourceEpochs(ctx, source)
}

// setSourceID gives the file a new identity as a sync source, keeping the
// one it replaces in front of its earlier ones (SourceParents).
func setSourceID(ctx context.Context, q *syncdb.Queries, id string) error {
	if err := q.SetSourceParents(ctx); err != nil {
		return err
	}
	return q.SetSourceID(ctx, id)
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
	c := core.SyncCursor{LastID: got.LastID, LastHash: got.LastHash, LastEpoch: got.LastEpoch, Sent: got.RowsSent, Missed: got.RowsMissed, UpdatedMs: got.UpdatedAt}
	src, err := q.SyncSource(ctx, id)
	switch {
	case err == nil:
		c = withSyncSource(c, src)
	case errors.Is(err, sql.ErrNoRows) || r.missingTable(ctx, err, "rechist_sync_source"):
	default:
		return core.SyncCursor{}, err
	}
	return c, nil
}

// SyncSources lists every cursor with what the file remembers of its
// source; a file before migration 00009 is read by the cursors alone.
func (r *reader) SyncSources(ctx context.Context) ([]core.SyncCursor, error) {
	got, err := syncdb.New(r.conn).SyncCursors(ctx)
	if err != nil {
		if r.missingTable(ctx, err, "rechist_sync_cursor") {
			return nil, nil
		}
		if r.missingTable(ctx, err, "rechist_sync_source") || r.missingTable(ctx, err, "rechist_sync_cursor_epoch") {
			return r.syncSourcesOfAnOlderFile(ctx)
		}
		return nil, err
	}
	out := make([]core.SyncCursor, len(got))
	for i, g := range got {
		out[i] = core.SyncCursor{Source: g.SourceID, LastID: g.LastID, LastHash: g.LastHash, LastEpoch: g.LastEpoch, Sent: g.RowsSent,
			Missed: g.RowsMissed, UpdatedMs: g.UpdatedAt, Filtered: g.Known != 0, Pattern: g.Pattern, Prefix: g.Prefix,
			Horizon: g.Horizon, Gone: g.RowsGone, ContinuedBy: g.ContinuedBy, ContinuedAt: g.ContinuedAt}
	}
	return out, nil
}

// syncSourcesOfAnOlderFile is SyncSources of a file opened read-only that
// predates migration 00009: each cursor read as SyncCursor reads it.
func (r *reader) syncSourcesOfAnOlderFile(ctx context.Context) ([]core.SyncCursor, error) {
	rows, err := r.conn.QueryContext(ctx, `SELECT source_id FROM rechist_sync_cursor WHERE last_id > 0 ORDER BY source_id`)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	out := make([]core.SyncCursor, 0, len(ids))
	for _, id := range ids {
		c, err := r.SyncCursor(ctx, id)
		if err != nil {
			return nil, err
		}
		c.Source = id
		out = append(out, c)
	}
	return out, nil
}

func (r *reader) SyncSourceEpochs(ctx context.Context, id string) ([]core.SyncEpoch, error) {
	got, err := syncdb.New(r.conn).SyncSourceEpochs(ctx, id)
	if err != nil {
		if r.missingTable(ctx, err, "rechist_sync_source_epoch") {
			return nil, nil
		}
		return nil, err
	}
	out := make([]core.SyncEpoch, len(got))
	for i, g := range got {
		out[i] = core.SyncEpoch{Start: g.StartID, Token: g.Token}
	}
	return out, nil
}

func (r *reader) SourceEpochs(ctx context.Context, after, upto int64) ([]core.SyncEpoch, error) {
	got, err := syncdb.New(r.conn).SourceEpochs(ctx, syncdb.SourceEpochsParams{After: after, Upto: upto})
	if err != nil {
		if r.missingTable(ctx, err, "rechist_sync_epoch") {
			return nil, nil
		}
		return nil, err
	}
	out := make([]core.SyncEpoch, len(got))
	for i, g := range got {
		out[i] = core.SyncEpoch{Start: g.StartID, Token: g.Token}
	}
	return out, nil
}

func (r *reader) SourceParents(ctx context.Context) ([]string, error) {
	v, err := syncdb.New(r.conn).SourceParents(ctx)
	if errors.Is(err, sql.ErrNoRows) || r.missingTable(ctx, err, "rechist_meta") {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return strings.Fields(v), nil
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
