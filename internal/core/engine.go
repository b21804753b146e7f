package core

import "context"

// Engine is what differs between the SQLite and the PostgreSQL engine:
// running SQL. Everything else (the writer goroutine, group commit and
// retries, retention, patterns, argument checks, the closed flag and the
// Close order, errors, logging, stats) lives in this package, once.
//
// The DB calls an Engine only with arguments it has already checked. Commit
// is called by one goroutine at a time (the writer's); the other methods may
// be called concurrently with each other and with Commit.
type Engine interface {
	// Commit runs batch in one transaction and sets each request's N to
	// the rows it inserted (KindInsert) or deleted (KindDeleteChunk). An
	// error means nothing of the batch was committed. ctx carries the
	// batch's deadline (Config.BatchTimeout); the engine must honour it in
	// every wait, for a lock as for a server.
	Commit(ctx context.Context, batch []*Request) error

	// Query returns the rows whose names match p within r, in result
	// order: record name bytewise ascending, newest first, the later
	// insert (higher id) first among equal times; at most
	// r.LimitPerRecord rows per record when it is positive.
	Query(ctx context.Context, p Pattern, r Range) ([]Row, error)

	// Summary counts rows and records, the time span and the storage
	// size, and lists the top records by rows (none when top is 0).
	Summary(ctx context.Context, top int) (Summary, error)

	// Close releases the engine. The DB calls it once, after the writer
	// has committed everything it accepted and stopped, so no Commit runs
	// any more; queries may still be finishing. ctx bounds the wait.
	Close(ctx context.Context) error

	// Classify returns ErrBusy or ErrDiskFull when err is the engine's
	// lock-timeout or out-of-space failure, and nil otherwise.
	Classify(err error) error
}

// BatchHooks is implemented by an engine that acts between batches (the
// SQLite engine's checkpointer). Both run around every batch, on the
// writer goroutine or on a caller committing directly, never two at once
// and never during another batch.
type BatchHooks interface {
	// BeforeBatch runs when the writer holds a request and has not yet
	// begun its transaction.
	BeforeBatch(ctx context.Context)
	// AfterBatch runs after every batch, committed or failed.
	AfterBatch()
}

// Compacter is implemented by an engine that can give the space of deleted
// rows back to the file system. The writer calls Compact alone, between
// batches, so no write transaction of this DB runs meanwhile.
type Compacter interface {
	Compact(ctx context.Context) error
}

// Backuper is implemented by an engine that can write a consistent copy of
// the database to a new file while writers go on.
type Backuper interface {
	Backup(ctx context.Context, dst string) error
}

// StatsFiller is implemented by an engine with counters of its own.
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
	Top                []RecordSummary
}

// RecordSummary is one record's share of the history.
type RecordSummary struct {
	Name     string
	Rows     int64
	NewestMs int64
}
