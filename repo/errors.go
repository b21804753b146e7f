package repo

import (
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/seed178a96f3/rechist/internal/core"
)

// Classify maps SQLite's result codes to the core's sentinels: BUSY and
// LOCKED (a lock another connection held past the busy timeout) to
// ErrBusy, FULL to ErrDiskFull.
func (e *engine) Classify(err error) error { return classify(err) }

func classify(err error) error {
	var code int
	var se *sqlite.Error
	var re *rawError
	switch {
	case errors.As(err, &se):
		code = se.Code()
	case errors.As(err, &re): // a C-API connection's (rawread.go)
		code = re.code
	default:
		return nil
	}
	switch code & 0xff { // the primary code of an extended one
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return core.ErrBusy
	case sqlite3.SQLITE_FULL:
		return core.ErrDiskFull
	}
	return nil
}
