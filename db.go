package rechist

import (
	"context"
	"time"

	"github.com/seed178a96f3/rechist/repo"
)

// MemoryPath, passed to [Open], opens a private in-memory database instead of
// a file (for tests). It has no WAL, so its reads and writes take turns.
const MemoryPath = repo.MemoryPath

// DB is an open history database. Use [NewRepo] for typed access.
// A DB is safe for concurrent use by any number of goroutines.
type DB struct {
	engine repo.Store
}

// Stats is a snapshot of a DB's counters; see [DB.Stats].
type Stats = repo.Stats

// Open opens the SQLite database at path, creating the file and its parent
// directory if needed, applies the pending migrations, and starts the writer
// goroutine (and the retention cleanup, with [WithRetention]). ctx bounds the
// opening only. The DB must be closed with [DB.Close].
//
// The file is opened in WAL mode with synchronous=FULL (see
// [WithSynchronous]), a 5s busy timeout and immediate write transactions.
// A file created by the Rust crate aimdb-persistence-sqlite opens as is.
//
// path may instead be a postgres:// URL when the program imports
// github.com/seed178a96f3/rechist/postgres: the same API and semantics on a
// PostgreSQL server (options that only concern SQLite files are ignored).
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	var cfg repo.Config
	for _, o := range opts {
		if o == nil {
			return nil, invalidOption("Open", "option is nil")
		}
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	e, err := repo.OpenStore(ctx, path, cfg)
	if err != nil {
		return nil, err
	}
	return &DB{engine: e}, nil
}

// Close stops accepting writes (calls made after it return [ErrClosed]),
// commits every write already accepted, stops the background goroutines,
// checkpoints the WAL into the database file and closes it. It is
// idempotent: later calls return the first call's result.
func (db *DB) Close() error { return db.engine.Close() }

// Cleanup deletes every row stored before cutoff and returns how many rows
// it deleted. It works in short transactions (see [WithCleanupChunk]) so
// concurrent stores are not held up. If ctx ends midway, the rows deleted so
// far stay deleted and their count is returned with ctx's error.
func (db *DB) Cleanup(ctx context.Context, cutoff time.Time) (int64, error) {
	ms, err := toMillis("cleanup", "cutoff", cutoff)
	if err != nil {
		return 0, err
	}
	return db.engine.Cleanup(ctx, ms)
}

// Stats returns the DB's counters: rows written, batches, skipped rows,
// queue depth and more.
func (db *DB) Stats() Stats { return db.engine.Stats() }

// Path returns the path the DB was opened with.
func (db *DB) Path() string { return db.engine.Path() }
