package core

import "context"

// TierBlock is one stored block of rollup buckets (TierStore):
// the record Name's buckets of width EveryMs from BlockMs on, eight of
// them (blockBuckets), in Data (see rollup_block.go).
type TierBlock struct {
	Name             string
	EveryMs, BlockMs int64
	Data             []byte
}

// TierUsage is what one record's tier of width EveryMs stores: Blocks
// rows holding Bytes bytes of data.
type TierUsage struct {
	Name                   string
	EveryMs, Blocks, Bytes int64
}

// TierStore is what the rollup code (rollup.go) reads and writes inside one
// write transaction: the engine hands it to Request.Tiers for a KindTiers
// request, on the batch's transaction, so that everything the function
// does commits together or not at all. It is SQL only: every decision is
// the core's.
//
// The rollup cursor is the highest record_history id whose row the tiers
// include; rows above it are still to roll up. Ids are final below the
// newest when a rollup runs on both engines (SQLite has one writer; on
// PostgreSQL a KindTiers batch holds the writer lock alone, so no rechist
// writer is running), so rows of other processes, the Rust crate's
// included, come above the cursor.
type TierStore interface {
	// Policies, SetPolicy and RemovePolicy are Reader.Policies and
	// KindPolicy's statements, on this transaction. RemovePolicy reports
	// whether there was one.
	Policies(ctx context.Context) ([]Policy, error)
	SetPolicy(ctx context.Context, p Policy) error
	RemovePolicy(ctx context.Context, pattern string, lang Language) (bool, error)

	// RollupCursor returns the cursor; ok is false when it has never been
	// set (no policy has had tiers).
	RollupCursor(ctx context.Context) (id int64, ok bool, err error)
	// SetRollupCursor sets it.
	SetRollupCursor(ctx context.Context, id int64) error
	// MaxID returns the highest row id in record_history (0: none).
	MaxID(ctx context.Context) (int64, error)
	// RowsAfter returns up to limit rows with an id above after,
	// ascending by id.
	RowsAfter(ctx context.Context, after int64, limit int) ([]Row, error)
	// RecordRows streams the rows of the record name stored within
	// [fromMs, toMs] whose id is at most maxID, in any order; it stops
	// when yield returns false.
	RecordRows(ctx context.Context, name string, fromMs, toMs, maxID int64, yield func(Row) bool) error
	// Names returns up to limit distinct record names above after (all
	// when after is ""), bytewise ascending.
	Names(ctx context.Context, after string, limit int) ([]string, error)
	// TierNames is TierReader's, on the transaction: the records with
	// tiers, whose raw rows may all be gone.
	TierNames(ctx context.Context, p Pattern, after string, limit int) ([]string, error)

	// Blocks returns the stored blocks of (name, everyMs) whose BlockMs
	// is within [fromMs, toMs], ascending.
	Blocks(ctx context.Context, name string, everyMs, fromMs, toMs int64) ([]TierBlock, error)
	// BlocksAt returns the stored blocks of the keys (their Data unset),
	// in
	// any order; a key with no block has none.
	BlocksAt(ctx context.Context, keys []TierBlock) ([]TierBlock, error)
	// PutBlocks inserts or replaces the blocks (keys all different): what
	// PutBlock does for each, in fewer statements.
	PutBlocks(ctx context.Context, bs []TierBlock) error
	// PutBlock inserts or replaces the block (Name, EveryMs, BlockMs).
	PutBlock(ctx context.Context, b TierBlock) error
	// DeleteBlocks deletes the blocks of (name, everyMs) whose BlockMs is
	// within [fromMs, toMs] and returns how many.
	DeleteBlocks(ctx context.Context, name string, everyMs, fromMs, toMs int64) (int64, error)
	// TierWidths returns the widths of the tiers the record name has
	// (rows of rechist_rollup_tier, whether or not they have buckets yet),
	// ascending.
	TierWidths(ctx context.Context, name string) ([]int64, error)
	// TierFrom returns the time from which the tier (name, everyMs) holds
	// every row (a tier added when raw rows were already gone holds only
	// those left); ok false when the record has no such tier.
	TierFrom(ctx context.Context, name string, everyMs int64) (fromMs int64, ok bool, err error)
	// SetTier records that the record name has the tier everyMs, complete
	// from fromMs (table rechist_rollup_tier: record_name, every_ms,
	// from_ms, primary key (record_name, every_ms); added by the same
	// migration as the policies).
	SetTier(ctx context.Context, name string, everyMs, fromMs int64) error
	// DeleteTier deletes the tier (name, everyMs) and all its blocks.
	DeleteTier(ctx context.Context, name string, everyMs int64) error
	// MarkFill records that the tier (name, everyMs) is to be filled from
	// the record's raw rows (table rechist_rollup_fill: record_name,
	// every_ms, primary key both); UnmarkFill removes the mark (none is
	// no error). FillWidths returns the record's marked widths,
	// ascending; FirstFill the first mark by name and width (ok false:
	// none).
	MarkFill(ctx context.Context, name string, everyMs int64) error
	UnmarkFill(ctx context.Context, name string, everyMs int64) error
	FillWidths(ctx context.Context, name string) ([]int64, error)
	FirstFill(ctx context.Context) (name string, everyMs int64, ok bool, err error)

	// DeleteRolledUp deletes at most limit rows of the record name stored
	// before cutoffMs whose id is at most maxID, and returns how many.
	DeleteRolledUp(ctx context.Context, name string, cutoffMs, maxID, limit int64) (int64, error)
	// DeleteRange deletes at most limit rows of the record name stored
	// within [fromMs, toMs], whatever their ids, and returns how many (what
	// Delete runs on a record with tiers, one chunk a transaction).
	DeleteRange(ctx context.Context, name string, fromMs, toMs, limit int64) (int64, error)
	// Horizon returns the time before which the raw rows of the record
	// name may be gone (retention deleted them after rolling them up): 0
	// when none were.
	Horizon(ctx context.Context, name string) (int64, error)
	// SetHorizon sets it.
	SetHorizon(ctx context.Context, name string, ms int64) error
}

// TierReader is what Aggregate reads of the tiers, in the snapshot of a
// Reader (Reader.Tiers).
type TierReader interface {
	// RollupCursor and Horizon are TierStore's, in the snapshot.
	RollupCursor(ctx context.Context) (id int64, ok bool, err error)
	Horizon(ctx context.Context, name string) (int64, error)
	// Blocks is TierStore's, in the snapshot.
	Blocks(ctx context.Context, name string, everyMs, fromMs, toMs int64) ([]TierBlock, error)
	// TierUsage returns, per record and tier, its blocks and the bytes of
	// their data, by name and width.
	TierUsage(ctx context.Context) ([]TierUsage, error)
	// EdgeBlocks returns the oldest and the newest block of the tier
	// (name, everyMs); ok false when it has none.
	EdgeBlocks(ctx context.Context, name string, everyMs int64) (oldest, newest TierBlock, ok bool, err error)
	// TierWidths and TierFrom are TierStore's, in the snapshot.
	TierWidths(ctx context.Context, name string) ([]int64, error)
	TierFrom(ctx context.Context, name string, everyMs int64) (fromMs int64, ok bool, err error)
	// TierNames is Reader.Names for the records that have tiers (rows of
	// rechist_rollup_tier), whose raw rows may all be gone.
	TierNames(ctx context.Context, p Pattern, after string, limit int) ([]string, error)
	// RowsAbove streams the rows of the record name within r whose id is
	// above afterID, in any order (r.LimitPerRecord is 0).
	RowsAbove(ctx context.Context, name string, r Range, afterID int64, yield func(Row) bool) error
}
