package core

import "context"

// Engine is what differs between the SQLite and the PostgreSQL engine:
// running SQL. Everything else (the writer goroutine, group commit and
// retries, retention, patterns, argument checks, the closed flag and the
// Close order, errors, logging, stats) lives in this package, once.
//
// This interface is the whole contract every engine implements; each
// engine asserts it at compile time (var _ core.Engine = (*engine)(nil)).
// What only some engines can do is one of the small optional interfaces
// below (BatchHooks, Compacter, Backuper, ValueStreamer, StatsFiller, ...), each asserted by
// the engines that implement it and looked up by its one caller.
//
// The DB calls an Engine only with arguments it has already checked. Commit
// is called by one goroutine at a time (the writer's); the other methods may
// be called concurrently with each other and with Commit.
type Engine interface {
	// Writes.

	// Commit runs batch in one transaction. The kinds it receives are
	// KindInsert and KindSync (insert Rows; KindSync also moves the
	// source's cursor as Sync says), KindDeleteChunk and KindDeleteRange
	// (delete one chunk, set More when rows to delete may remain) and
	// KindSetSourceID; KindCompact goes to Compacter instead. It sets each
	// request's N to the rows it inserted or deleted. An error means
	// nothing of the batch was committed; a *RequestError names the one
	// request whose data was refused, a Retryable error a lock met before
	// anything was written. ctx carries the batch's deadline
	// (Config.BatchTimeout); the engine must honour it in every wait, for
	// a lock as for a server.
	Commit(ctx context.Context, batch []*Request) error

	// Reads.

	// Read runs fn in one read-only snapshot of the database and releases
	// the snapshot when fn returns: what All, Timeline, Records,
	// Aggregate, Delete, Changes and Sync read through.
	Read(ctx context.Context, fn func(Reader) error) error

	// Reader returns the same Reader outside a transaction: each of its
	// calls reads a snapshot of its own. The DB uses it for a read of
	// one statement (Query, QueryLatest, Latest), which then costs no
	// BEGIN and no ROLLBACK (two round trips to a server).
	Reader() Reader

	// Summary counts rows and records, the time span and the storage
	// size, and lists the top records by rows (none when top is 0).
	Summary(ctx context.Context, top int) (Summary, error)

	// Lifecycle.

	// Close releases the engine. The DB calls it once, after the writer
	// has committed everything it accepted and stopped, so no Commit runs
	// any more; queries may still be finishing. ctx bounds the wait.
	Close(ctx context.Context) error

	// Classification.

	// Classify returns ErrBusy or ErrDiskFull when err is the engine's
	// lock-timeout or out-of-space failure, and nil otherwise, by the
	// database's error code, never by the text of a message.
	Classify(err error) error
}

// Reader reads one consistent snapshot of the database (Engine.Read):
// Query answers a wildcard pattern in one statement (Query, QueryLatest);
// Names and Rows read one record at a time, for every pattern language
// (names are tested in Go with Pattern.Match: All, Timeline, Latest,
// Records, Aggregate, Delete); the rest is what Changes and Sync read.
type Reader interface {
	// Query returns the rows whose names match p within r, in result
	// order: record name bytewise ascending, newest first, the later
	// insert (higher id) first among equal times; at most
	// r.LimitPerRecord rows per record when it is positive. It is the
	// fast path of the library's most common read (a pattern's newest N
	// rows per record, one walk of the (name, time) index), so the DB
	// passes only LangWildcard patterns (CompilePattern); the engine
	// turns p into its own SQL and tests in Go (p.Match) what that SQL
	// cannot express.
	Query(ctx context.Context, p Pattern, r Range) ([]Row, error)
	// Names returns up to limit distinct record names that start with
	// p.Prefix (only p.Prefix itself when p.Exact), in bytewise order,
	// greater than after (all when after is ""). Names the pattern does
	// not match may be among them: the caller tests each with p.Match.
	Names(ctx context.Context, p Pattern, after string, limit int) ([]string, error)
	// Rows streams the rows of the record name within r, newest first
	// (oldest first with r.OldestFirst), the later insert first among
	// equal times either way, at most r.LimitPerRecord when positive; it
	// stops when yield returns false.
	Rows(ctx context.Context, name string, r Range, yield func(Row) bool) error
	// Info counts the record's rows and reads its first and last times
	// from the rows themselves: what StatsByWalk lists a schema without
	// the names table with.
	Info(ctx context.Context, name string) (rows, firstMs, lastMs int64, err error)
	// RecordStats returns up to limit records that have raw rows, as
	// Names selects them, each with what Info says of it: from the names
	// table where the schema has one (a row a record, whatever it holds),
	// else StatsByWalk.
	RecordStats(ctx context.Context, p Pattern, after string, limit int) ([]RecordStat, error)
	// Aggregate summarises a numeric field of the record's values in
	// buckets of a.EveryMs within [a.StartMs, a.EndMs], ascending; empty
	// buckets are left out.
	Aggregate(ctx context.Context, name string, a AggSpec) ([]Bucket, error)
	// ChangesAfter streams up to limit rows with an id above after,
	// ascending by id, whatever their names; it stops when yield returns
	// false.
	ChangesAfter(ctx context.Context, after int64, limit int, yield func(Row) bool) error
	// LastID returns the highest row id (0 when there are no rows).
	LastID(ctx context.Context) (int64, error)
	// FinalID returns an id at or below which every row is final: no
	// transaction still running holds one, so a snapshot taken after it
	// returns holds every row up to it that will ever commit. It may wait,
	// bounded by ctx, for transactions running when it was called. The DB
	// calls it outside a transaction (Reader), before the snapshot of a
	// read that follows rows in commit order (Changes, Sync's source): an
	// engine whose writers take turns (SQLite) returns math.MaxInt64.
	FinalID(ctx context.Context) (int64, error)
	// IDHighWater returns the highest row id ever handed out, which
	// deleting rows does not lower.
	IDHighWater(ctx context.Context) (int64, error)
	// SourceID returns the database's identity as a sync source;
	// ErrNoSourceID when its schema has none.
	SourceID(ctx context.Context) (string, error)
	// SyncCursor returns the cursor of the sync source id; the zero
	// SyncCursor when it has none (or the schema has no cursors). The DB
	// calls it outside a transaction (Reader): it reads the cursor and its
	// epoch in one snapshot.
	SyncCursor(ctx context.Context, id string) (SyncCursor, error)
	// Policies returns the stored retention policies, ordered by pattern
	// and language; none when the schema has no policies table.
	Policies(ctx context.Context) ([]Policy, error)
	// TierReader reads the rollup tiers in the snapshot: a schema without
	// their tables has no cursor, no buckets and no horizon.
	TierReader
	// SyncEpoch returns the token of the epoch of the database's row ids
	// that holds id (see WritesRows); "" when id predates every epoch or
	// the schema has none.
	SyncEpoch(ctx context.Context, id int64) (string, error)
	// SyncSources returns the cursor of every source the database received
	// rows from (Source set), by source id; none when the schema has no
	// cursors. Epochs are left out.
	SyncSources(ctx context.Context) ([]SyncCursor, error)
	// SyncSourceEpochs returns the epochs of the ids the database received
	// from the sync source id, in id order; none when it has none (or the
	// schema predates them).
	SyncSourceEpochs(ctx context.Context, id string) ([]SyncEpoch, error)
	// SourceEpochs returns, as a source, the epochs of the database's row
	// ids that hold ids in (after, upto], in id order; none when the schema
	// has none.
	SourceEpochs(ctx context.Context, after, upto int64) ([]SyncEpoch, error)
	// SourceParents returns, as a source, its identities before the
	// current one, newest first (NewSourceID keeps them).
	SourceParents(ctx context.Context) ([]string, error)
}

// BatchHooks is implemented by an engine that acts between batches (the
// SQLite engine's checkpointer). The writer (newWriter) looks it up once;
// both run around every batch, on the writer goroutine, never two at once
// and never during another batch.
type BatchHooks interface {
	// BeforeBatch runs when the writer holds a request and has not yet
	// begun its transaction.
	BeforeBatch(ctx context.Context)
	// AfterBatch runs after every batch, committed or failed.
	AfterBatch()
}

// Compacter is implemented by an engine that can give the space of deleted
// rows back to the file system (SQLite). The writer calls Compact for a
// KindCompact request (DB.Compact), alone, between batches, so no write
// transaction of this DB runs meanwhile; without it DB.Compact is
// errors.ErrUnsupported. Compact may do part of the work, within the
// batch timeout, and report more: DB.Compact then asks again, and the
// batches waiting in between go first.
type Compacter interface {
	Compact(ctx context.Context) (more bool, err error)
}

// Backuper is implemented by an engine that can write a consistent copy of
// the database to a new file while writers go on (SQLite). DB.Backup calls
// it; without it DB.Backup is errors.ErrUnsupported.
type Backuper interface {
	Backup(ctx context.Context, dst string) error
}

// CleanupWindower is implemented by an engine whose cleanup deletes in an
// order other than time (PostgreSQL: record by record, from the names
// table): DB.Cleanup then deletes window by window of time, each window
// as a cleanup of its own with the window's end as cutoff, so that the
// rows a window's chunks visit lie close together (a fleet's records
// interleave in time: record by record over the whole cutoff visited each
// heap page of the oldest rows once per record). CleanupWindowEnd returns
// where the window that starts at startMs (math.MinInt64: the oldest row)
// ends, about a window's worth of rows later, at most cutoffMs; it runs
// outside the writer, so its reading delays no store.
type CleanupWindower interface {
	CleanupWindowEnd(ctx context.Context, startMs, cutoffMs int64) (int64, error)
}

// PartitionDropper is implemented by an engine that keeps rows in
// partitions of time (PostgreSQL with WithPartitions). A cleanup to a
// cutoff first calls DropPartitions, which removes every partition that
// holds only rows older than cutoffMs, the names table kept exact in the
// same transactions; the chunked cleanup then deletes the rest (the rows
// of the partition the cutoff falls in, and of a partition a reader held).
// It returns the rows removed. The DB calls it outside the writer, never
// for records with rollup tiers (their raw rows leave with the tiers'
// horizon moved, chunk by chunk).
type PartitionDropper interface {
	// Partitioned says whether the table is in partitions now: when it
	// is not, the DB skips the pass over the names that finds the cutoff.
	Partitioned() bool
	DropPartitions(ctx context.Context, cutoffMs int64) (int64, error)
}

// ValueStreamer is implemented by an engine that can read one record's
// rows more cheaply than Reader.Rows when the caller needs only each
// row's time and value and does not keep them (SQLite: SQLite's own C
// API through modernc's lib, without database/sql, a driver value a
// column or a copy of the value). StreamValues yields what Rows yields
// for the same arguments, in the same order, as (id, time, value), where
// value is the engine's memory, valid only until yield returns. ok false
// says the engine cannot serve this read (it has not started reading):
// DB.Values then reads through Rows.
type ValueStreamer interface {
	StreamValues(ctx context.Context, name string, r Range, yield func(id, ms int64, value []byte) bool) (ok bool, err error)
}

// StatsFiller is implemented by an engine with counters of its own
// (SQLite's WAL rewinds). DB.Stats calls it after the writer's counters.
type StatsFiller interface {
	FillStats(*Stats)
}

// Summary describes what a database holds.
type Summary struct {
	Rows, Records      int64
	OldestMs, NewestMs int64 // zero when Rows is zero
	FileBytes          int64 // the database file, or the table on a server
	WALBytes           int64 // the write-ahead log, where the engine has one
	FreeBytes          int64 // free pages inside the file, where the engine has them
	Partitions         int   // time partitions of the table, where it has them
	PartitionWidthMs   int64 // their width; 0 when the table is not partitioned
	Top                []RecordSummary
}

// RecordSummary is one record's share of the history.
type RecordSummary struct {
	Name     string
	Rows     int64
	NewestMs int64
}
