package rechist

import (
	"context"
	"net/url"
	"time"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/repo"
)

// MemoryPath, passed to [Open], opens a private in-memory database instead of
// a file (for tests). It has no WAL, so its reads and writes take turns.
const MemoryPath = repo.MemoryPath

// DB is an open history database. Use [NewRepo] for typed access.
// A DB is safe for concurrent use by any number of goroutines.
type DB struct {
	core *core.DB
}

func init() {
	core.Of = func(v any) *core.DB {
		if d, ok := v.(*DB); ok && d != nil {
			return d.core
		}
		return nil
	}
}

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
// PostgreSQL server. Options that only concern SQLite files are refused
// there.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	cfg, err := settingsFor(path, opts)
	if err != nil {
		return nil, public(err)
	}
	d, err := core.DriverFor("open", path, repo.Driver)
	if err != nil {
		return nil, public(err)
	}
	c, err := core.Open(ctx, d, path, shown(path), cfg)
	if err != nil {
		return nil, public(err)
	}
	return &DB{core: c}, nil
}

// shown is path as Path returns it: a URL without its password.
func shown(path string) string {
	if core.Scheme(path) == "" {
		return path
	}
	u, err := url.Parse(path)
	if err != nil {
		return core.Scheme(path) + "://"
	}
	return u.Redacted()
}

// Close stops accepting writes (calls made after it return [ErrClosed]),
// commits every write already accepted, stops the background goroutines,
// checkpoints the WAL into the database file and closes it. It is
// idempotent: later calls return the first call's result.
func (db *DB) Close() error { return public(db.core.Close()) }

// Cleanup deletes every row stored before cutoff and returns how many rows
// it deleted. It works in short transactions (see [WithCleanupChunk]) so
// concurrent stores are not held up. If ctx ends midway, the rows deleted so
// far stay deleted and their count is returned with ctx's error.
func (db *DB) Cleanup(ctx context.Context, cutoff time.Time) (int64, error) {
	ms, err := toMillis("cleanup", "cutoff", cutoff)
	if err != nil {
		return 0, public(err)
	}
	n, err := db.core.Cleanup(ctx, ms)
	return n, public(err)
}

// Path returns the path the DB was opened with (a URL without its
// password).
func (db *DB) Path() string { return db.core.Path() }
