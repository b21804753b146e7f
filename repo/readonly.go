package repo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/seed178a96f3/rechist/internal/core"
)

// A read-only open of a WAL-mode file needs its WAL index (the -shm file):
// SQLite uses the one a running writer keeps, or creates it (and an empty
// -wal) beside the file. A user who may read the file but not write its
// directory, after every writer has closed (and so removed -shm and -wal),
// gets neither: SQLite fails with SQLITE_READONLY_DIRECTORY (or
// SQLITE_READONLY_CANTINIT; root on a read-only file system:
// SQLITE_CANTOPEN). Such a file is then opened immutable
// (SQLite's immutable=1: no locks, no WAL index), which is exact as long
// as nobody writes it: no -wal beside it means no process has it open in
// WAL mode, and a writer that starts later needs the directory, which
// this user cannot write. Because one may, the file's size and time and the
// absence of a -wal are taken at the open, and Close fails with
// errChangedWhileImmutable if any of them changed: what was read may mix
// the file's states.

// errChangedWhileImmutable is Close's error when a file opened immutable
// changed while it was open.
var errChangedWhileImmutable = errors.New("the file changed while it was read without locks (opened immutable: this user cannot create its -shm file); what was read may be inconsistent: run the command again")

// immutableState is what an immutable open saw of the file.
type immutableState struct {
	path     string
	size     int64
	modified time.Time
}

// changed says whether the file differs from what the open saw, or a WAL
// now exists beside it.
func (s *immutableState) changed() bool {
	fi, err := os.Stat(s.path)
	if err != nil || fi.Size() != s.size || !fi.ModTime().Equal(s.modified) {
		return true
	}
	_, err = os.Stat(s.path + "-wal")
	return !errors.Is(err, fs.ErrNotExist)
}

// openReadPool opens a pool on the file at loc read-only (mode=ro), or
// immutable when SQLite can neither use nor make its WAL index and no
// -wal exists (see above); imm is then what the open saw.
func openReadPool(ctx context.Context, loc location, path string, cfg core.Config, conns int) (pool *sql.DB, imm *immutableState, err error) {
	params := readOnlyParams(cfg)
	pool, err = probe(ctx, loc.dsn(params), conns)
	if err == nil || loc.memory || !cannotMakeWALIndex(err) {
		return pool, nil, err
	}
	fi, serr := os.Stat(path)
	if _, werr := os.Stat(path + "-wal"); serr != nil || !errors.Is(werr, fs.ErrNotExist) {
		return nil, nil, err // a WAL whose index SQLite cannot read: a writer is (or was) at work
	}
	params.Set("immutable", "1")
	pool, ierr := probe(ctx, loc.dsn(params), conns)
	if ierr != nil {
		return nil, nil, err // what the plain open said
	}
	return pool, &immutableState{path: path, size: fi.Size(), modified: fi.ModTime()}, nil
}

// probe opens a pool of at most conns connections on dsn and reads the
// schema once, where SQLite opens the WAL index.
func probe(ctx context.Context, dsn string, conns int) (*sql.DB, error) {
	pool, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	pool.SetMaxOpenConns(conns)
	pool.SetMaxIdleConns(conns)
	var n int
	if err := pool.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// cannotMakeWALIndex says whether err is SQLite failing to make or use the
// WAL index of a file opened read-only.
func cannotMakeWALIndex(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() {
	case sqlite3.SQLITE_READONLY_DIRECTORY, sqlite3.SQLITE_READONLY_CANTINIT, sqlite3.SQLITE_READONLY_RECOVERY,
		sqlite3.SQLITE_CANTOPEN: // root, whom no permission stops, on a read-only file system
		return true
	}
	return false
}

// closeImmutable is Close's check of a file opened immutable.
func closeImmutable(imm *immutableState, path string) error {
	if imm != nil && imm.changed() {
		return fmt.Errorf("%s: %w", path, errChangedWhileImmutable)
	}
	return nil
}
