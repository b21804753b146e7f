package rechist

import (
	"context"
	"time"

	"github.com/seed178a96f3/rechist/internal/core"
)

// SyncOption configures [Sync], as [Option] configures [Open]: a bad
// one, a nil one or one given twice makes Sync fail with an error
// wrapping [ErrInvalidArgument] that names it, before it does anything.
type SyncOption interface {
	syncOption() namedOption[core.SyncOptions]
}

// syncOpt is every SyncOption.
type syncOpt namedOption[core.SyncOptions]

func (o syncOpt) syncOption() namedOption[core.SyncOptions] { return namedOption[core.SyncOptions](o) }

// SyncPattern sends only the records matching pattern (in the source's
// pattern language; default: all). The destination's cursor covers every
// source row Sync has looked at, sent or not, so it remembers the pattern
// and the prefix: a later Sync of the source with others fails with
// [ErrInvalidArgument] and sends nothing (see [DB.ForgetSyncSource]).
func SyncPattern(pattern string) SyncOption {
	return syncOpt{"SyncPattern", func(o *core.SyncOptions) error { o.Pattern = pattern; return nil }}
}

// SyncPrefix stores every record on the destination under prefix + name
// ("vienna-gw1." + "sensors.temp"), so that names from several devices do
// not collide.
func SyncPrefix(prefix string) SyncOption {
	return syncOpt{"SyncPrefix", func(o *core.SyncOptions) error {
		if prefix == "" {
			return optionError("sync", "SyncPrefix", "empty prefix")
		}
		o.Prefix = prefix
		return nil
	}}
}

// SyncBatchRows sets how many source rows one transaction on the
// destination covers, at most (default 10,000).
func SyncBatchRows(n int) SyncOption {
	return syncOpt{"SyncBatchRows", func(o *core.SyncOptions) error {
		if n < 1 {
			return optionError("sync", "SyncBatchRows", "batch rows must be at least 1, got %d", n)
		}
		o.BatchRows = n
		return nil
	}}
}

// SyncProgress calls fn after every batch committed on the destination,
// with the result so far. A nil fn makes Sync fail at once.
func SyncProgress(fn func(SyncResult)) SyncOption {
	return syncOpt{"SyncProgress", func(o *core.SyncOptions) error {
		if fn == nil {
			return optionError("sync", "SyncProgress", "func is nil")
		}
		o.Progress = func(r core.SyncResult) { fn(syncResult(r)) }
		return nil
	}}
}

// SyncResult says what [Sync] did and where the destination stands.
type SyncResult struct {
	// Source is the source's sync identity.
	Source string
	// Copied is how many rows this Sync stored on the destination;
	// Skipped how many the pattern left out.
	Copied, Skipped int64
	// Missed is how many source ids this Sync passed over without a row:
	// rows the source deleted (its retention, a Delete) before they could
	// be sent, a gap in the destination's copy that no later Sync fills.
	// On a PostgreSQL source it also counts the ids of write transactions
	// that failed there (its sequence does not give them back), although
	// no row was lost; a SQLite source has no such gaps. See docs/sync.md.
	Missed int64
	// Cursor is the id of the last source row the destination covers;
	// SourceLast the source's newest row id when Sync last looked.
	// SourceLast - Cursor is about how many rows remain.
	Cursor, SourceLast int64
	// TotalSent and TotalMissed are the destination's counts for this
	// source since its first Sync.
	TotalSent, TotalMissed int64
	// Gone counts the ids this Sync passed over that the source no longer
	// had when the destination first received it (its first Sync there):
	// rows deleted before sync saw them, not missed. Horizon is the
	// highest id the source had handed out at that first Sync (0 when the destination's
	// cursor is older than rechist keeping it), TotalGone the
	// destination's count.
	Gone, Horizon, TotalGone int64
	// Parent is set when this Sync began the source's cursor on the
	// destination by continuing the history that an earlier identity of
	// it (Parent, see [DB.NewSourceID]) left there up to the source's id
	// ParentID: the rows up to it were not sent again.
	Parent   string
	ParentID int64
	// Reached says whether the destination answered: false, Cursor and
	// the totals are unknown, not 0.
	Reached bool
}

func syncResult(r core.SyncResult) SyncResult {
	return SyncResult{Source: r.Source, Copied: r.Copied, Skipped: r.Skipped, Missed: r.Missed,
		Cursor: r.Cursor, SourceLast: r.SourceLast, TotalSent: r.TotalSent, TotalMissed: r.TotalMissed,
		Gone: r.Gone, Horizon: r.Horizon, TotalGone: r.TotalGone, Parent: r.Parent, ParentID: r.ParentID, Reached: r.Reached}
}

// Sync copies to dst every row of src that dst has not yet received from
// src, in batches, and returns how many it copied and where it stands.
// Values arrive byte for byte with their original times.
//
// Exactly once: src has an identity (a random id its schema got when
// first migrated), and dst keeps one cursor per source (the id of the last
// source row it holds), written in the transaction of the rows it covers.
// Each batch commits only if the cursor is still where Sync read it. So a
// Sync stopped at any moment (killed, the server gone, ctx ended) and run
// again neither loses nor duplicates a row, several sources push into one
// destination at once, and two Syncs of one source cannot both commit a
// batch: the second fails with [ErrConflict]. An error from a batch whose
// commit may or may not have happened ([ErrOutcomeUnknown]) needs no care:
// the next Sync starts from the cursor dst actually holds.
//
// Sync only reads src: it may be opened [WithReadOnly]. A source whose
// schema predates sync has no identity: the error wraps [ErrNoSourceID];
// open it writable once. If dst holds rows of this source that src does
// not (src is another copy of the same file that pushed other rows, or an
// older copy such as a restored backup, whatever rows either has deleted
// since), Sync refuses with [ErrConflict] and [ErrCopiedSource] and writes
// nothing: see docs/sync.md for how it tells, and for giving a copy an
// identity of its own.
//
// Rows src deleted before they were sent are counted in
// [SyncResult.Missed] (with, on a PostgreSQL source, the ids its failed
// writes used up): retention on a device must outlast its longest time
// offline. Rows it no longer had when dst first received it are not
// missed: [SyncResult.Gone].
//
// dst remembers the pattern and prefix of the source's first Sync: a Sync
// with others fails with [ErrInvalidArgument], sending nothing.
func Sync(ctx context.Context, src, dst *DB, opts ...SyncOption) (SyncResult, error) {
	var o core.SyncOptions
	var given []string
	if err := applyOptions("sync", "Sync", &o, &given, opts, SyncOption.syncOption); err != nil {
		return SyncResult{}, public(err)
	}
	if src == nil || dst == nil {
		return SyncResult{}, public(core.Invalidf("sync", "source and destination must not be nil"))
	}
	if src == dst {
		return SyncResult{}, public(core.Invalidf("sync", "source and destination are the same DB"))
	}
	r, err := core.Sync(ctx, src.core, dst.core, o)
	return syncResult(r), public(err)
}

// SourceID returns the database's identity as a sync source; an error
// wrapping [ErrNoSourceID] if its schema predates sync.
func (db *DB) SourceID(ctx context.Context) (string, error) {
	id, err := db.core.SourceID(ctx)
	return id, public(err)
}

// SyncStatus is what a destination holds of one source.
type SyncStatus struct {
	Source string
	// Cursor is the id of the last source row received; Sent and Missed
	// count, since the first sync, the rows received and the source ids
	// passed over without a row (see [SyncResult.Missed]).
	Cursor, Sent, Missed int64
	// Updated is when the last batch from this source committed.
	Updated time.Time
	// Hash is the fingerprint of the source's row Cursor and Epoch the
	// source's epoch at it, as the last push said: what the next one
	// checks the source against ([ErrCopiedSource]).
	Hash, Epoch string
	// Filtered says whether the destination knows the Pattern and Prefix
	// the source's pushes use (a cursor an older rechist wrote does not;
	// the next push records them). A push with others is refused.
	Filtered        bool
	Pattern, Prefix string
	// Horizon is the highest id the source had handed out when the destination first
	// received it, Gone how many ids up to it the source no longer had
	// then (not missed); both 0 for a cursor an older rechist wrote.
	Horizon, Gone int64
	// ContinuedBy is the new identity ([DB.NewSourceID]) that took over the
	// source's history on the destination at its cursor ContinuedAt: the
	// destination takes no more pushes of the source ([ErrCopiedSource]).
	ContinuedBy string
	ContinuedAt int64
}

func syncStatus(source string, c core.SyncCursor) SyncStatus {
	st := SyncStatus{Source: source, Cursor: c.LastID, Sent: c.Sent, Missed: c.Missed, Hash: c.LastHash, Epoch: c.LastEpoch,
		Filtered: c.Filtered, Pattern: c.Pattern, Prefix: c.Prefix, Horizon: c.Horizon, Gone: c.Gone,
		ContinuedBy: c.ContinuedBy, ContinuedAt: c.ContinuedAt}
	if c.UpdatedMs > 0 {
		st.Updated = fromMillis(c.UpdatedMs)
	}
	return st
}

// SyncStatus returns what db, as a sync destination, holds of source; the
// zero Cursor when it has received nothing from it.
func (db *DB) SyncStatus(ctx context.Context, source string) (SyncStatus, error) {
	c, err := db.core.SyncStatus(ctx, source)
	if err != nil {
		return SyncStatus{}, public(err)
	}
	return syncStatus(source, c), nil
}

// SyncSources returns what db, as a sync destination, holds of every
// source it received rows from, by source id: how an operator finds the id
// [DB.ForgetSyncSource] takes (`rechist sync sources`).
func (db *DB) SyncSources(ctx context.Context) ([]SyncStatus, error) {
	cs, err := db.core.SyncSources(ctx)
	if err != nil {
		return nil, public(err)
	}
	out := make([]SyncStatus, len(cs))
	for i, c := range cs {
		out[i] = syncStatus(c.Source, c)
	}
	return out, nil
}

// ForgetSyncSource makes db, as a sync destination, forget source: its
// cursor, counts, pattern, prefix and epochs go, in one transaction, and
// it returns what db held of it. The rows received from the source stay.
// The source's next [Sync] to db is its first: it sends every row the
// source still holds, with any pattern and prefix, or, under the pattern
// and prefix of an earlier identity of the source that db holds
// ([DB.NewSourceID]), takes over that identity's history and sends the
// rows after it (under the same prefix, rows db received before would be
// stored twice either way: delete them first, or push under a new prefix). An error wrapping [ErrNotFound] when db
// holds no cursor of source, [ErrInvalidArgument] for an empty id,
// [ErrReadOnly] on a read-only handle. `rechist sync forget`.
func (db *DB) ForgetSyncSource(ctx context.Context, source string) (SyncStatus, error) {
	c, err := db.core.ForgetSyncSource(ctx, source)
	if err != nil {
		return SyncStatus{}, public(err)
	}
	return syncStatus(source, c), nil
}

// SyncEpoch is an epoch of a source's row ids: from Start on, its ids
// were handed out by the DB handle whose random token is Token (see
// docs/sync.md, "Epochs").
type SyncEpoch struct {
	Start int64
	Token string
}

// SyncEpochs returns the epochs of the ids db, as a sync destination,
// received from source, in id order: what a source with a new identity
// compares its own with, to continue the history its old identity left
// (see [DB.NewSourceID]). A [SyncTarget] that has this method lets it.
func (db *DB) SyncEpochs(ctx context.Context, source string) ([]SyncEpoch, error) {
	es, err := db.core.SyncEpochs(ctx, source)
	if err != nil {
		return nil, public(err)
	}
	return publicEpochs(es), nil
}

func publicEpochs(es []core.SyncEpoch) []SyncEpoch {
	if es == nil {
		return nil
	}
	out := make([]SyncEpoch, len(es))
	for i, e := range es {
		out[i] = SyncEpoch(e)
	}
	return out
}

func coreEpochs(es []SyncEpoch) []core.SyncEpoch {
	if es == nil {
		return nil
	}
	out := make([]core.SyncEpoch, len(es))
	for i, e := range es {
		out[i] = core.SyncEpoch(e)
	}
	return out
}

// NewSourceID gives db a new random identity as a sync source and returns
// it: what a file refused with [ErrCopiedSource] needs (a copy of another
// device's file, the file a copy was made of, a restored backup). db keeps
// the identities it had before. Its next [Sync] to a destination that
// holds rows of the old identity, pushed with the same pattern and prefix,
// continues that history from where db and it part (where their epochs
// differ), sending only the rows after that point: nothing twice, nothing
// skipped. With another prefix, or to a destination that does not know the
// old identity, it sends every row db holds. The old identity's cursor
// stays on each destination, for the other file. See docs/sync.md.
func (db *DB) NewSourceID(ctx context.Context) (string, error) {
	id, err := db.core.NewSourceID(ctx)
	return id, public(err)
}
