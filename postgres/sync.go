package postgres

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/postgres/internal/db"
)

// lockSyncCursors locks the cursor rows of the batch's sync sources
// (LockSyncCursor) before anything else is written, in name order
// (syncSources), so two batches with pushes of the same sources cannot
// deadlock over them: the pushes of one source take turns, those of
// different sources (and every other writer) go side by side.
func lockSyncCursors(ctx context.Context, q *db.Queries, batch []*core.Request) error {
	for _, s := range syncSources(batch) {
		if err := q.LockSyncCursor(ctx, s); err != nil {
			return statementError(nil, err)
		}
	}
	return nil
}

// moveSyncCursor checks and moves a KindSync request's cursor inside the
// write transaction, whose lockSyncCursors holds the cursor's row until
// COMMIT. The request's rows are inserted by the caller in the same
// transaction.
func moveSyncCursor(ctx context.Context, q *db.Queries, r *core.Request) error {
	st := r.Sync
	if st.Forget {
		if err := q.ForgetSyncSource(ctx, st.Source); err != nil {
			return statementError(r, err)
		}
		return nil
	}
	before, err := writerSyncCursor(ctx, q, st.Source)
	if err != nil {
		return err
	}
	next, err := st.Next(before, len(r.Rows))
	if err != nil {
		return &core.RequestError{Request: r, Err: err}
	}
	if st.Adopt { // the parent's cursor row is locked too (syncSources)
		parent, err := writerSyncCursor(ctx, q, st.Parent)
		if err != nil {
			return err
		}
		parentEpochs, err := writerSyncEpochs(ctx, q, st.Parent)
		if err != nil {
			return statementError(r, err)
		}
		var heirEpochs []core.SyncEpoch
		if parent.ContinuedBy != "" {
			if heirEpochs, err = writerSyncEpochs(ctx, q, parent.ContinuedBy); err != nil {
				return statementError(r, err)
			}
		}
		takeovers, err := writerSyncTakeovers(ctx, q, st.Parent)
		if err != nil {
			return statementError(r, err)
		}
		parent, mark, err := st.Continue(parent, parentEpochs, heirEpochs, takeovers)
		if err != nil {
			return &core.RequestError{Request: r, Err: err}
		}
		if mark {
			if err := q.SetSyncSource(ctx, setSyncSourceParams(st.Parent, parent)); err != nil {
				return statementError(r, err)
			}
		}
		t := st.Takeover()
		if err := q.AddSyncTakeover(ctx, db.AddSyncTakeoverParams{ParentID: st.Parent, SourceID: t.Source, AtID: t.At, Epoch: t.Epoch}); err != nil {
			return statementError(r, err)
		}
	}
	err = q.SetSyncCursor(ctx, db.SetSyncCursorParams{SourceID: st.Source, LastID: next.LastID, LastHash: next.LastHash,
		RowsSent: next.Sent, RowsMissed: next.Missed, UpdatedAt: next.UpdatedMs})
	if err == nil {
		err = q.SetSyncCursorEpoch(ctx, db.SetSyncCursorEpochParams{SourceID: st.Source, LastEpoch: next.LastEpoch})
	}
	if err == nil && next.Filtered {
		err = q.SetSyncSource(ctx, setSyncSourceParams(st.Source, next))
	}
	if err == nil && len(st.Epochs) > 0 {
		var at db.SyncSourceEpochAtRow
		at, err = q.SyncSourceEpochAt(ctx, db.SyncSourceEpochAtParams{SourceID: st.Source, ID: st.PrevID})
		found := err == nil
		if errors.Is(err, pgx.ErrNoRows) {
			err = nil
		}
		if err == nil && !st.EpochsFit(before, core.SyncEpoch{Start: at.StartID, Token: at.Token}, found) {
			err = q.ForgetSyncSourceEpochs(ctx, st.Source)
		}
	}
	if err == nil && len(st.Epochs) > 0 {
		err = q.AddSyncSourceEpochs(ctx, addSyncSourceEpochsParams(st.Source, st.Epochs))
	}
	if err != nil {
		return statementError(r, err)
	}
	return nil
}

// writerSyncEpochs reads the epochs of a source's ids the destination
// received, inside the write transaction (core.SyncStep.Continue).
func writerSyncEpochs(ctx context.Context, q *db.Queries, source string) ([]core.SyncEpoch, error) {
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
func writerSyncTakeovers(ctx context.Context, q *db.Queries, parent string) ([]core.SyncTakeover, error) {
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
// the destination remembers of it, inside the write transaction, after
// LockSyncCursor.
func writerSyncCursor(ctx context.Context, q *db.Queries, source string) (core.SyncCursor, error) {
	got, err := q.SyncCursorWithEpoch(ctx, source)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return core.SyncCursor{}, statementError(nil, err)
	}
	c := core.SyncCursor{LastID: got.LastID, LastHash: got.LastHash, LastEpoch: got.LastEpoch, Sent: got.RowsSent, Missed: got.RowsMissed,
		UpdatedMs: got.UpdatedAt}
	src, err := q.SyncSource(ctx, source)
	switch {
	case err == nil:
		c = withSyncSource(c, src)
	case !errors.Is(err, pgx.ErrNoRows):
		return core.SyncCursor{}, statementError(nil, err)
	}
	return c, nil
}

// withSyncSource is c with what the destination remembers of its source.
func withSyncSource(c core.SyncCursor, src db.SyncSourceRow) core.SyncCursor {
	c.Filtered, c.Pattern, c.Prefix, c.Horizon, c.Gone = true, src.Pattern, src.Prefix, src.Horizon, src.RowsGone
	c.ContinuedBy, c.ContinuedAt = src.ContinuedBy, src.ContinuedAt
	return c
}

func setSyncSourceParams(source string, c core.SyncCursor) db.SetSyncSourceParams {
	return db.SetSyncSourceParams{SourceID: source, Pattern: c.Pattern, Prefix: c.Prefix, Horizon: c.Horizon, RowsGone: c.Gone,
		ContinuedBy: c.ContinuedBy, ContinuedAt: c.ContinuedAt}
}

func addSyncSourceEpochsParams(source string, epochs []core.SyncEpoch) db.AddSyncSourceEpochsParams {
	p := db.AddSyncSourceEpochsParams{SourceID: source, StartIds: make([]int64, len(epochs)), Tokens: make([]string, len(epochs))}
	for i, e := range epochs {
		p.StartIds[i], p.Tokens[i] = e.Start, e.Token
	}
	return p
}

// setSourceID gives the schema a new identity as a sync source, keeping
// the one it replaces in front of its earlier ones (SourceParents).
func setSourceID(ctx context.Context, q *db.Queries, id string) error {
	if err := q.SetSourceParents(ctx); err != nil {
		return err
	}
	return q.SetSourceID(ctx, id)
}

// syncEpoch is whether the engine's DB handle has begun its epoch of the
// schema's row ids (core.WritesRows): its first batch that stores rows
// does, in the batch's transaction, and only a commit makes it so.
type syncEpoch struct{ begun atomic.Bool }

// wants says whether batch is the handle's first to store rows: its
// transaction begins the epoch.
func (s *syncEpoch) wants(batch []*core.Request) bool {
	return !s.begun.Load() && core.WritesRows(batch)
}

// begin starts the epoch inside the write transaction when wants said so
// (LockHistoryForWriting, then StartSyncEpoch), and says whether it did.
func (s *syncEpoch) begin(ctx context.Context, q *db.Queries, batch []*core.Request) (bool, error) {
	if !s.wants(batch) {
		return false, nil
	}
	if err := q.LockHistoryForWriting(ctx); err != nil {
		return true, statementError(nil, err)
	}
	if err := q.StartSyncEpoch(ctx); err != nil {
		return true, statementError(nil, err)
	}
	return true, nil
}

// committed records that the transaction in which begin started the epoch
// (started) committed.
func (s *syncEpoch) committed(started bool) {
	if started {
		s.begun.Store(true)
	}
}

// missingSchema reports whether err is SQLSTATE 42P01 (undefined table) or
// 42703 (undefined column): a schema that predates a sync migration.
func missingSchema(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "42703")
}

func (r *reader) IDHighWater(ctx context.Context) (int64, error) { return r.q.IDHighWater(ctx) }

func (r *reader) SourceID(ctx context.Context) (string, error) {
	id, err := r.q.SourceID(ctx)
	if errors.Is(err, pgx.ErrNoRows) || missingSchema(err) {
		return "", core.ErrNoSourceID
	}
	return id, err
}

// SyncCursor reads the cursor and its epoch in one statement where the
// schema has both tables (every writable one: a destination is migrated).
func (r *reader) SyncCursor(ctx context.Context, id string) (core.SyncCursor, error) {
	got, err := r.q.SyncCursorWithEpoch(ctx, id)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return core.SyncCursor{}, nil
	case missingSchema(err):
		return r.syncCursorOfAnOlderSchema(ctx, id)
	case err != nil:
		return core.SyncCursor{}, err
	}
	c := core.SyncCursor{LastID: got.LastID, LastHash: got.LastHash, LastEpoch: got.LastEpoch, Sent: got.RowsSent, Missed: got.RowsMissed, UpdatedMs: got.UpdatedAt}
	if present, err := r.q.SyncSourceTable(ctx); err != nil || !present {
		return c, err
	}
	src, err := r.q.SyncSource(ctx, id)
	switch {
	case err == nil:
		c = withSyncSource(c, src)
	case !errors.Is(err, pgx.ErrNoRows):
		return core.SyncCursor{}, err
	}
	return c, nil
}

// SyncSources lists every cursor with what the schema remembers of its
// source; a schema before migration 00011 is read by the cursors alone.
func (r *reader) SyncSources(ctx context.Context) ([]core.SyncCursor, error) {
	if present, err := r.q.SyncSourceTable(ctx); err != nil || !present {
		if err != nil {
			return nil, err
		}
		return r.syncSourcesOfAnOlderSchema(ctx)
	}
	got, err := r.q.SyncCursors(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]core.SyncCursor, len(got))
	for i, g := range got {
		out[i] = core.SyncCursor{Source: g.SourceID, LastID: g.LastID, LastHash: g.LastHash, LastEpoch: g.LastEpoch, Sent: g.RowsSent,
			Missed: g.RowsMissed, UpdatedMs: g.UpdatedAt, Filtered: g.Known, Pattern: g.Pattern, Prefix: g.Prefix,
			Horizon: g.Horizon, Gone: g.RowsGone, ContinuedBy: g.ContinuedBy, ContinuedAt: g.ContinuedAt}
	}
	return out, nil
}

// syncSourcesOfAnOlderSchema is SyncSources of a schema opened read-only
// that predates migration 00011: the cursors, their pattern and prefix
// unknown (as SQLite lists a file of before its 00009). A schema before
// the cursor tables (00002, 00003) lists none.
func (r *reader) syncSourcesOfAnOlderSchema(ctx context.Context) ([]core.SyncCursor, error) {
	if present, err := r.q.SyncEpochTable(ctx); err != nil || !present {
		return nil, err
	}
	got, err := r.q.SyncCursorsOfAnOlderSchema(ctx)
	if err != nil {
		if missingSchema(err) {
			return nil, nil
		}
		return nil, err
	}
	out := make([]core.SyncCursor, len(got))
	for i, g := range got {
		out[i] = core.SyncCursor{Source: g.SourceID, LastID: g.LastID, LastHash: g.LastHash, LastEpoch: g.LastEpoch, Sent: g.RowsSent,
			Missed: g.RowsMissed, UpdatedMs: g.UpdatedAt}
	}
	return out, nil
}

func (r *reader) SyncSourceEpochs(ctx context.Context, id string) ([]core.SyncEpoch, error) {
	if present, err := r.q.SyncSourceTable(ctx); err != nil || !present {
		return nil, err
	}
	got, err := r.q.SyncSourceEpochs(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]core.SyncEpoch, len(got))
	for i, g := range got {
		out[i] = core.SyncEpoch{Start: g.StartID, Token: g.Token}
	}
	return out, nil
}

func (r *reader) SourceEpochs(ctx context.Context, after, upto int64) ([]core.SyncEpoch, error) {
	if present, err := r.q.SyncEpochTable(ctx); err != nil || !present {
		return nil, err
	}
	got, err := r.q.SourceEpochs(ctx, db.SourceEpochsParams{After: after, Upto: upto})
	if err != nil {
		return nil, err
	}
	out := make([]core.SyncEpoch, len(got))
	for i, g := range got {
		out[i] = core.SyncEpoch{Start: g.StartID, Token: g.Token}
	}
	return out, nil
}

func (r *reader) SourceParents(ctx context.Context) ([]string, error) {
	v, err := r.q.SourceParents(ctx)
	if errors.Is(err, pgx.ErrNoRows) || missingSchema(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return strings.Fields(v), nil
}

// syncCursorOfAnOlderSchema is SyncCursor for a schema opened read-only
// that lacks one of the tables (or both).
func (r *reader) syncCursorOfAnOlderSchema(ctx context.Context, id string) (core.SyncCursor, error) {
	got, err := r.q.SyncCursor(ctx, id)
	switch {
	case errors.Is(err, pgx.ErrNoRows) || missingSchema(err):
		return core.SyncCursor{}, nil
	case err != nil:
		return core.SyncCursor{}, err
	}
	return core.SyncCursor{LastID: got.LastID, LastHash: got.LastHash, Sent: got.RowsSent, Missed: got.RowsMissed, UpdatedMs: got.UpdatedAt}, nil
}

// SyncEpoch looks for the table first: Sync reads more in the same
// transaction, which a failed query would abort.
func (r *reader) SyncEpoch(ctx context.Context, id int64) (string, error) {
	if present, err := r.q.SyncEpochTable(ctx); err != nil || !present {
		return "", err
	}
	token, err := r.q.SyncEpoch(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return token, err
}
