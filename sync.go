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
// source row Sync has looked at, sent or not: rows a later Sync with a
// wider pattern would select are not sent after all.
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
}

func syncResult(r core.SyncResult) SyncResult {
	return SyncResult{Source: r.Source, Copied: r.Copied, Skipped: r.Skipped, Missed: r.Missed,
		Cursor: r.Cursor, SourceLast: r.SourceLast, TotalSent: r.TotalSent, TotalMissed: r.TotalMissed}
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
// offline.
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
}

// SyncStatus returns what db, as a sync destination, holds of source; the
// zero Cursor when it has received nothing from it.
func (db *DB) SyncStatus(ctx context.Context, source string) (SyncStatus, error) {
	c, err := db.core.SyncStatus(ctx, source)
	if err != nil {
		return SyncStatus{}, public(err)
	}
	st := SyncStatus{Source: source, Cursor: c.LastID, Sent: c.Sent, Missed: c.Missed, Hash: c.LastHash, Epoch: c.LastEpoch}
	if c.UpdatedMs > 0 {
		st.Updated = fromMillis(c.UpdatedMs)
	}
	return st, nil
}

// NewSourceID gives db a new random identity as a sync source and returns
// it: what a copy of a device's file needs before it pushes on its own
// (see [ErrCopiedSource]). Destinations then see a new source, with
// nothing received from it: the next [Sync] sends every row the file
// holds, those it inherited from the original included, so push it under
// a prefix of its own (or delete the inherited rows first). The old
// identity's cursor stays on each destination.
func (db *DB) NewSourceID(ctx context.Context) (string, error) {
	id, err := db.core.NewSourceID(ctx)
	return id, public(err)
}
