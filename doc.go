// Package rechist keeps the long-term history of named records
// ("accuracy::vienna", "sensors.temp.outdoor") in an embedded SQLite file.
//
// It is the Go counterpart of the Rust crate aimdb-persistence-sqlite and
// shares its on-disk schema: either program reads what the other wrote. The
// same API runs on a PostgreSQL server when the program imports package
// github.com/seed178a96f3/rechist/postgres and opens a postgres:// URL.
//
//	db, err := rechist.Open(ctx, "./data/history.db", rechist.WithRetention(7*24*time.Hour))
//	if err != nil {
//		return err
//	}
//	defer db.Close()
//	acc := rechist.NewRepo[Accuracy](db)
//	err = acc.Store(ctx, "accuracy::vienna", Accuracy{Value: 0.93, City: "Vienna"})
//	latest, err := rechist.QueryLatest[Accuracy](ctx, db, "accuracy::*", 5)
//
// # Storing
//
// Values are stored as compact JSON rows (record_name, value_json, stored_at
// in Unix milliseconds). [Repo.Store] stamps the current time,
// [Repo.StoreAt] an explicit one, [Repo.StoreMany] stores many values in one
// transaction. One writer goroutine owns every write: stores wait in a
// bounded queue, the writer commits whatever is waiting in one transaction
// (group commit) and answers each caller. A store returns once its own value
// is committed; nil means it is in the file.
//
// # Querying
//
// [Repo.Query] and [Repo.QueryLatest] select records by pattern: '*' matches
// any run of characters, the empty run included; every other character
// ('?', '%', '_', '[', '\' and '.' among them) stands for itself; the whole
// name must match, case-sensitively. A pattern without '*' names one record.
// [QueryParams] bounds the time (both ends inclusive; a zero time is
// unbounded) and the rows per record (0 is unlimited). Results come ordered
// by record name (bytewise), then newest first; among equal times, the later
// store first. Latest-N queries seek each matching record in the index, so
// their cost does not grow with the depth of history.
//
// Rows whose JSON does not decode into the Repo's type are skipped, logged
// at warn level and counted in [Stats].SkippedRows. One database can hold
// records of many types, but patterns are what keep them apart:
// encoding/json decodes most objects into most structs (unknown fields are
// ignored, missing ones stay zero), so a Repo[T] queried with "*" may
// return another type's rows as T. Name records so that a pattern selects
// one type ("accuracy::*", "temperature::*").
//
// # Reading
//
// [Repo.All] streams what Query returns, record by record from one
// snapshot, with memory that does not grow with the result. [Repo.Latest]
// returns one record's newest value by exact name. [DB.Records] lists the
// records a pattern matches with their row counts and time spans.
// [DB.Aggregate] summarises a numeric field in fixed buckets (count, min,
// max, mean, sum, first, last) inside the database. [DB.Delete] removes the
// rows of matching records within a time range. [WithTopicPatterns]
// switches every pattern to AimDB's dot-separated topics.
//
// # Operating
//
// [WithReadOnly] opens a database without changing it; [WithoutMigrations]
// leaves the schema to the operator; [DB.Backup] writes a consistent copy
// while writers go on; [DB.Compact] gives deleted rows' space back.
//
// # Retention
//
// [DB.Cleanup] deletes rows stored before a cutoff and reports how many.
// [WithRetention] does it in the background at Open and then every
// [WithCleanupInterval]. Cleanups delete in short chunks so stores are not
// held up.
//
// # Concurrency
//
// A [DB] and its [Repo]s are safe for concurrent use by any number of
// goroutines. Writes are serialized through the writer goroutine; reads run
// on a pool of read-only connections and never wait for a write
// transaction (WAL mode); they pause only for the few milliseconds in which
// the writer lets a long WAL start over. Another process may open the same
// file; SQLite's locks and the busy timeout arbitrate.
//
// # Errors
//
// Every error is an [*Error] naming the operation. Bad input wraps
// [ErrInvalidArgument], says what was wrong, and writes nothing. Calls after
// [DB.Close] wrap [ErrClosed]. A lock held by another connection for longer
// than the engine waits wraps [ErrBusy]; a full disk wraps [ErrDiskFull]. A
// store whose ctx ends while it is still queued returns ctx's error and is
// not written; a store the writer has taken waits for its transaction,
// which [WithBatchTimeout] bounds.
package rechist
