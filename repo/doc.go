// Package repo is rechist's untyped engine: it opens the SQLite file,
// applies the goose migrations, runs the writer goroutine that group-commits
// every write, serves reads from a read-only connection pool, compiles
// record-name patterns into index ranges, and runs retention.
//
// Values cross this package as JSON text ([Row]); package rechist is the
// typed layer on top. The SQL itself lives in queries/ and reaches this
// package only through the sqlc-generated package db.
//
// # Write path
//
// Callers enqueue a request on a bounded channel and wait on a reply
// channel of their own. The writer takes the first waiting request, gathers
// whatever else is queued (up to Config.MaxBatchRows rows), runs it all in
// one BEGIN IMMEDIATE transaction, commits, and answers every caller. If the
// batch fails, each request is retried in a transaction of its own, so one
// request that cannot be written fails alone.
//
// A request is queued until the writer takes it or its caller gives up
// (ctx), whichever comes first; an abandoned request is never written, and a
// taken one is always answered with the commit's outcome.
//
// # Read path
//
// Queries run QueryLatestWalk: a recursive CTE hops from one distinct
// record_name to the next through idx_record_time within the pattern's
// literal prefix, filters each name with GLOB, and takes each name's rows as
// a bounded index range with a LIMIT. The seed's window-function query,
// QueryWindow, is kept as the reference the tests check the walk against.
package repo
