// Package repo is rechist's untyped engine: it opens the SQLite file,
// applies the goose migrations, runs the writer goroutine that group-commits
// every write, serves reads from a read-only connection pool, compiles
// record-name patterns into index ranges, and runs retention.
//
// Values cross this package as JSON text ([Row]); package rechist is the
// typed layer on top. The SQL itself lives in queries/ and reaches this
// package only through the sqlc-generated package db.
//
// # Engines
//
// [Store] is the interface the typed layer uses. [Engine] is the SQLite
// engine; package postgres registers a PostgreSQL one through [Register],
// and [OpenStore] picks the engine by the path's URL scheme. Both share the
// group-commit [Writer] and are held to the same behaviour by the
// conformance suite in package rechisttest.
//
// # Write path
//
// Callers enqueue a request on a bounded channel and wait on a reply
// channel of their own. The writer takes the first waiting request, gathers
// whatever else is queued (up to Config.MaxBatchRows rows), runs it all in
// one transaction (BEGIN IMMEDIATE on SQLite), commits, and answers every
// caller. If the batch fails, each request is retried in a transaction of
// its own, so one request that cannot be written fails alone.
//
// The SQLite writer never checkpoints inside a commit: a background
// checkpointer copies the WAL on a connection of its own and, when the WAL
// has grown past Config.WALRestartPages, the writer finishes the copy
// between two batches so the WAL can start over (see checkpoint.go).
//
// A request is queued until the writer takes it or its caller gives up
// (ctx), whichever comes first; an abandoned request is never written, and a
// taken one is always answered with the commit's outcome.
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
