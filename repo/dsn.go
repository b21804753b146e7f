package repo

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/seed178a96f3/rechist/internal/core"
)

// MemoryPath opens a private in-memory database instead of a file; users
// name it rechist.MemoryPath, which is this constant.
const MemoryPath = ":memory:"

// location is where the database lives and how to reach it through the
// modernc driver.
type location struct {
	// uri is a SQLite URI filename without query parameters.
	uri string
	// memory is true for a private in-memory database (no WAL).
	memory bool
}

var memorySeq atomic.Int64

// locate resolves path into a location. With create, it creates the parent
// directory of a file database; without, a file that does not exist is an
// error that names it.
func locate(path string, create bool) (location, error) {
	if path == "" {
		return location{}, core.Invalidf("open", "database path is empty")
	}
	if path == MemoryPath {
		// The memdb VFS shares one database among every connection of this
		// process that names it, which a plain :memory: does not; the
		// sequence number keeps each Open's database its own.
		name := fmt.Sprintf("/rechist-memory-%d-%d", os.Getpid(), memorySeq.Add(1))
		return location{uri: "file:" + name + "?vfs=memdb", memory: true}, nil
	}
	if strings.ContainsRune(path, 0) {
		return location{}, core.Invalidf("open", "database path contains a NUL byte")
	}
	if create {
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return location{}, fmt.Errorf("create directory for database: %w", err)
			}
		}
	} else if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return location{}, fmt.Errorf("no database at %s: %w", path, fs.ErrNotExist)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return location{}, core.Invalidf("open", "%s is a directory, not a database file", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return location{}, err
	}
	// A URI filename: percent-encode what SQLite would otherwise read as the
	// start of the query or fragment.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	return location{uri: u.String()}, nil
}

// dsn returns the driver's data source name: the URI plus SQLite pragmas
// that every new connection runs before its first use.
func (l location) dsn(params url.Values) string {
	sep := "?"
	if strings.Contains(l.uri, "?") {
		sep = "&"
	}
	return l.uri + sep + params.Encode()
}

// writerParams are the pragmas of the single writer connection, and of
// the checkpointer's. With ownCheckpoints the connection never checkpoints
// on commit (the engine's checkpointer does).
func writerParams(cfg core.Config, memory, ownCheckpoints bool) url.Values {
	v := url.Values{}
	v.Set("_busy_timeout", fmt.Sprint(cfg.BusyTimeout.Milliseconds()))
	v.Set("_txlock", "immediate")
	if !memory {
		v.Set("_journal_mode", "WAL")
	}
	v.Set("_synchronous", cfg.Synchronous.String())
	v.Add("_pragma", fmt.Sprintf("cache_size(%d)", -cfg.CacheSizeKiB))
	// The page size of a file this connection creates: the driver runs
	// _pragma before _journal_mode, so it comes before the first page is
	// written; on a file that exists it changes nothing (a WAL file keeps
	// its page size even through VACUUM).
	if cfg.PageSize > 0 {
		v.Add("_pragma", fmt.Sprintf("page_size(%d)", cfg.PageSize))
	}
	if ownCheckpoints && !memory {
		v.Add("_pragma", "wal_autocheckpoint(0)")
	}
	return v
}

// withMemoryJournals adds temp_store(memory) to the writer connection's
// params. Every multi-row INSERT and upsert in a write transaction keeps a
// statement journal (the pages it changes, to undo just that statement on
// a constraint error); with temp_store FILE (SQLite's default) it spills
// past 64 KiB to a temporary file, a pwrite for each page: a third of a
// late-row storm's time (StoreMany 100k rows over 30 days: 36k rows/s with
// FILE, 100k with MEMORY, docs/performance.md). A statement journal holds
// at most one statement's pages, and the writer's statements are bounded
// (eight rows, a 256-row chunk, 512 blocks). The connection that migrates
// (CREATE INDEX sorts the whole table) does not get it, and Compact's
// VACUUM, whose temporary copy is the whole database, switches it off
// around it (vacuumOnDisk).
func withMemoryJournals(v url.Values) url.Values {
	v.Add("_pragma", "temp_store(memory)")
	return v
}

// readOnlyParams are the pragmas of a read-only DB's pool: the file is
// opened read-only (mode=ro), so nothing of it can change, not even the
// journal mode of a file the Rust crate made.
func readOnlyParams(cfg core.Config) url.Values {
	v := readerParams(cfg)
	v.Set("mode", "ro")
	return v
}

// readerParams are the pragmas of the read-only pool's connections.
func readerParams(cfg core.Config) url.Values {
	v := url.Values{}
	v.Set("_busy_timeout", fmt.Sprint(cfg.BusyTimeout.Milliseconds()))
	v.Set("_query_only", "1")
	v.Add("_pragma", fmt.Sprintf("cache_size(%d)", -cfg.CacheSizeKiB))
	return v
}

// openSQL (Driver.OpenSQL) opens a plain database/sql handle on the file
// at path with the pragmas the engine's writer uses (WAL, cfg's
// synchronous mode, busy timeout, immediate transactions, page cache),
// except that SQLite's own automatic checkpoint stays on. It is for
// rechist's benchmarks, which compare the engine with plain SQL on equal
// terms; it does not migrate.
func openSQL(path string, cfg core.Config) (*sql.DB, error) {
	cfg, err := cfg.Normalized()
	if err != nil {
		return nil, err
	}
	if path == MemoryPath {
		return nil, core.Invalidf("open", "OpenSQL needs a file")
	}
	loc, err := locate(path, true)
	if err != nil {
		return nil, err
	}
	return sql.Open("sqlite", loc.dsn(writerParams(cfg, false, false)))
}
