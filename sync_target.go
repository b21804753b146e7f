package rechist

import (
	"context"
	"encoding/json"
	"time"

	"github.com/seed178a96f3/rechist/internal/core"
)

// SyncTarget is where [SyncTo] pushes a source's rows: a [DB] of this
// process, or a server that applies pushes to one (package rechisthttp's
// NewSyncTarget, for `rechist serve --writable`), so that a device needs
// only HTTPS to the server, never a database port or password.
//
// The protocol is the same either way: the target keeps one cursor per
// source, and ApplySync commits a push's rows with its cursor move, only
// if the cursor stands where the push says (else an error wrapping
// [ErrConflict], nothing written). Exactly once therefore holds over any
// transport whose caller, when it cannot tell whether a push committed,
// either says so ([ErrOutcomeUnknown]) or finds out from SyncStatus.
type SyncTarget interface {
	// SyncStatus returns what the target holds of source: the zero
	// Cursor when it has received nothing from it.
	SyncStatus(ctx context.Context, source string) (SyncStatus, error)
	// ApplySync commits p's rows and moves the source's cursor from
	// p.Prev to p.Last, in one transaction.
	ApplySync(ctx context.Context, p SyncPush) error
}

var _ SyncTarget = (*DB)(nil)

// SyncPush is one batch of a sync: the rows a source stored with ids
// after Prev, up to Last, that the sync's pattern selects.
type SyncPush struct {
	// Source is the source's identity ([DB.SourceID]).
	Source string
	// Prev is where the target's cursor must stand, Last where the push
	// moves it (the id of the last source row it read).
	Prev, Last int64
	// Hash is the fingerprint of the source's row Last and Epoch the
	// source's epoch at it: what the next push checks the source against.
	Hash, Epoch string
	// Missed counts the ids after Prev up to Last that had no row when
	// the source was read (rows it deleted before they were sent).
	Missed int64
	// Pattern and Prefix are the push's, which the target remembers with
	// the cursor and checks ("": an older client's push that says none:
	// not checked).
	Pattern, Prefix string
	// Horizon is the source's newest id when the target first received it
	// (recorded when the push creates the cursor) and Gone the ids up to it
	// the push passes over without a row (not missed).
	Horizon, Gone int64
	// Epochs are the source's epochs of the ids the push covers.
	Epochs []SyncEpoch
	// Adopt says the source continues, from Prev on, the history an
	// earlier identity of it left on the target: its own cursor must not
	// exist yet. Parent is that identity and ParentLast its cursor on the
	// target when the sync read it: the target refuses the push
	// ([ErrConflict]) unless the parent's cursor is still there, and then
	// takes no more pushes of the parent beyond it.
	Adopt      bool
	Parent     string
	ParentLast int64
	// Rows are the rows to store, in the source's id order, each value
	// the text the source stored, byte for byte (another program's value
	// need not be JSON), with its time.
	Rows []SyncRow
}

// SyncRow is one row of a [SyncPush].
type SyncRow struct {
	Name     string
	Value    json.RawMessage
	StoredAt time.Time
}

// ApplySync is [SyncTarget]'s method for a DB: it commits p's rows and the
// cursor move together, or returns an error wrapping [ErrConflict] when
// the cursor is not at p.Prev, [ErrInvalidArgument] for a push that is not
// well formed (a cursor that moves back or too little for its rows, a bad
// record name, a time before 1970), and [ErrReadOnly] on a read-only
// handle; nothing of a refused push is written. It is what a server calls
// with a push it received.
func (db *DB) ApplySync(ctx context.Context, p SyncPush) error {
	const op = "sync"
	rows := make([]core.Row, len(p.Rows))
	for i, r := range p.Rows {
		ms, err := toMillis(op, "row time", r.StoredAt)
		if err != nil {
			return public(err)
		}
		rows[i] = core.Row{Name: r.Name, ValueJSON: string(r.Value), StoredAt: ms}
	}
	step := &core.SyncStep{Source: p.Source, PrevID: p.Prev, LastID: p.Last, LastHash: p.Hash, LastEpoch: p.Epoch, Missed: p.Missed,
		Pattern: p.Pattern, Prefix: p.Prefix, Horizon: p.Horizon, Gone: p.Gone, Epochs: coreEpochs(p.Epochs), Adopt: p.Adopt,
		Parent: p.Parent, ParentLast: p.ParentLast}
	return public(db.core.ApplySync(ctx, step, rows))
}

// SyncTo is [Sync] to any [SyncTarget]: a DB, or a server through package
// rechisthttp's NewSyncTarget. Everything Sync promises holds; the
// target's errors come back as it returned them.
func SyncTo(ctx context.Context, src *DB, dst SyncTarget, opts ...SyncOption) (SyncResult, error) {
	var o core.SyncOptions
	var given []string
	if err := applyOptions("sync", "SyncTo", &o, &given, opts, SyncOption.syncOption); err != nil {
		return SyncResult{}, public(err)
	}
	if src == nil || dst == nil {
		return SyncResult{}, public(core.Invalidf("sync", "source and destination must not be nil"))
	}
	var target core.SyncTarget = targetAdapter{dst}
	if _, ok := dst.(syncEpochLister); ok {
		target = epochAdapter{targetAdapter{dst}}
	}
	if d, ok := dst.(*DB); ok {
		if d == nil {
			return SyncResult{}, public(core.Invalidf("sync", "source and destination must not be nil"))
		}
		if src == d {
			return SyncResult{}, public(core.Invalidf("sync", "source and destination are the same DB"))
		}
		target = d.core
	}
	r, err := core.Sync(ctx, src.core, target, o)
	return syncResult(r), public(err)
}

// targetAdapter is a SyncTarget of another package seen by the core.
type targetAdapter struct{ t SyncTarget }

func (a targetAdapter) SyncStatus(ctx context.Context, source string) (core.SyncCursor, error) {
	st, err := a.t.SyncStatus(ctx, source)
	if err != nil {
		return core.SyncCursor{}, err
	}
	c := core.SyncCursor{LastID: st.Cursor, LastHash: st.Hash, LastEpoch: st.Epoch, Sent: st.Sent, Missed: st.Missed,
		Filtered: st.Filtered, Pattern: st.Pattern, Prefix: st.Prefix, Horizon: st.Horizon, Gone: st.Gone,
		ContinuedBy: st.ContinuedBy, ContinuedAt: st.ContinuedAt}
	if !st.Updated.IsZero() {
		c.UpdatedMs = st.Updated.UnixMilli()
	}
	return c, nil
}

func (a targetAdapter) ApplySync(ctx context.Context, step *core.SyncStep, rows []core.Row) error {
	p := SyncPush{Source: step.Source, Prev: step.PrevID, Last: step.LastID, Hash: step.LastHash, Epoch: step.LastEpoch,
		Missed: step.Missed, Pattern: step.Pattern, Prefix: step.Prefix, Horizon: step.Horizon, Gone: step.Gone,
		Epochs: publicEpochs(step.Epochs), Adopt: step.Adopt, Parent: step.Parent, ParentLast: step.ParentLast,
		Rows: make([]SyncRow, len(rows))}
	for i, r := range rows {
		p.Rows[i] = SyncRow{Name: r.Name, Value: json.RawMessage(r.ValueJSON), StoredAt: fromMillis(r.StoredAt)}
	}
	return a.t.ApplySync(ctx, p)
}

// syncEpochLister is a SyncTarget that can list the epochs it received of
// a source (DB, rechisthttp's SyncClient).
type syncEpochLister interface {
	SyncEpochs(ctx context.Context, source string) ([]SyncEpoch, error)
}

// epochAdapter is a targetAdapter whose target lists epochs: the core
// sees a core.SyncEpochLister.
type epochAdapter struct{ targetAdapter }

func (a epochAdapter) SyncEpochs(ctx context.Context, source string) ([]core.SyncEpoch, error) {
	es, err := a.t.(syncEpochLister).SyncEpochs(ctx, source)
	return coreEpochs(es), err
}
