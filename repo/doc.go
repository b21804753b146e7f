// Package repo is rechist's SQLite engine: it opens the file with the
// pragmas rechist needs (WAL, synchronous, busy timeout, immediate write
// transactions), applies the goose migrations in migrations/, commits the
// writer's batches, answers queries from a read-only connection pool, and
// keeps the WAL short with a background checkpointer. The SQL lives in
// queries/ and reaches this package only through sqlc-generated code:
// package db (queries/*.sql, all prepared on every read connection) and
// repo/internal/syncdb (queries/sync/, unprepared). The queries the engine
// does not run, the benchmarks' baselines and the tests' references, are
// generated apart, in internal/bench/benchdb.
//
// Everything that is not SQL (the writer goroutine, group commit, retries,
// retention, patterns, validation, errors, Close order) lives once in
// internal/core, which drives this engine through core.Engine; package
// postgres is the same shape over PostgreSQL. Package rechist is the public
// API. What this package exports (Driver, MemoryPath) is what package
// rechist needs; Driver's type is internal, so no program outside this
// module can use it, and neither is covered by any compatibility promise.
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
// query, QueryWindow (internal/bench/queries/reference.sql), is kept as the
// reference the tests check against.
package repo
