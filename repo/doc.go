// Package repo is rechist's SQLite engine: it opens the file with the
// pragmas rechist needs (WAL, synchronous, busy timeout, immediate write
// transactions), applies the goose migrations in migrations/, commits the
// writer's batches, answers queries from a read-only connection pool, and
// keeps the WAL short with a background checkpointer. The SQL lives in
// queries/ and reaches this package only through the sqlc-generated
// package db.
//
// Everything that is not SQL (the writer goroutine, group commit, retries,
// retention, patterns, validation, errors, Close order) lives once in
// internal/core, which drives this engine through core.Engine; package
// postgres is the same shape over PostgreSQL. Package rechist is the public
// API. What this package exports (Driver, OpenSQL, MemoryPath) is for
// rechist's own packages and tools and is not covered by any compatibility
// promise.
//
// # Write path
//
// The writer runs each batch in one BEGIN IMMEDIATE transaction on a
// connection of its own, with statements prepared once and bound to the
// transaction once. It never checkpoints inside a commit: a background
// checkpointer copies the WAL on another connection and, when the WAL has
// grown past its rewind threshold (what the writer appends in 250 ms,
// between Config.WALRestartPages/16 and Config.WALRestartPages), the
// writer finishes the copy between two batches behind a read gate so the
// WAL can start over (checkpoint.go). A caller storing alone commits on
// its own goroutine (core.Writer's direct commits), through the same
// hooks.
//
// # Read path
//
// Queries run QueryLatestWalk: a recursive CTE hops from one distinct
// record_name to the next through idx_record_time within the pattern's
// literal prefix, filters each name with GLOB, and takes each name's rows
// from a cutoff seek as one index range; the engine orders the rows and
// trims ties. A pattern of only '*' without a per-record limit reads
// idx_record_stored_at instead (QueryTimeRange). The seed's window-function
// query, QueryWindow, is kept as the reference the tests check against.
package repo
