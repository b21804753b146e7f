package rechist

import (
	"errors"

	"github.com/seed178a96f3/rechist/internal/core"
)

var (
	// ErrInvalidArgument is wrapped by every error about the caller's input,
	// from every call: an empty or malformed record name or pattern, n < 1
	// or a negative limit, Start after End, a time before the Unix epoch or
	// past the int64-millisecond range, a name longer than [MaxNameBytes],
	// a value JSON cannot encode or that is not valid UTF-8, a bad,
	// repeated or (on PostgreSQL) SQLite-only option passed to [Open], a
	// URL scheme no imported engine handles. Nothing is written when it is
	// returned.
	ErrInvalidArgument = core.ErrInvalidArgument

	// ErrClosed is wrapped by the error of every call on a [DB] (and its
	// [Repo]s) made after [DB.Close] has begun. Nothing is written.
	ErrClosed = core.ErrClosed

	// ErrBusy is wrapped when the database stayed locked by another
	// connection for longer than the engine waits: SQLite's SQLITE_BUSY or
	// SQLITE_LOCKED after the busy timeout ([WithBusyTimeout]), PostgreSQL's
	// lock timeout (SQLSTATE 55P03). [Repo.Store], [Repo.StoreAt],
	// [Repo.StoreMany] and [DB.Cleanup] return it with nothing of that
	// request written (Cleanup keeps the chunks it committed before);
	// [Open] and the migration functions when they could not get the lock
	// to migrate. Trying again later is safe.
	ErrBusy = core.ErrBusy

	// ErrDiskFull is wrapped when the database ran out of space: SQLite's
	// SQLITE_FULL, PostgreSQL's SQLSTATE 53100. The stores and cleanups
	// that return it wrote nothing; the file is intact. Free space, then
	// try again.
	ErrDiskFull = core.ErrDiskFull

	// ErrOutcomeUnknown is wrapped when the connection to a PostgreSQL
	// server was lost while a write transaction was being committed and
	// rechist could not learn afterwards (it asks the server on a new
	// connection, for up to 10 s) whether the commit happened: the rows of
	// that [Repo.Store], [Repo.StoreMany] or [DB.Cleanup] chunk may or may
	// not be stored. Do not retry blindly, which may store them twice:
	// query for them first, or make the values idempotent (a unique id
	// field your readers deduplicate on). When rechist does learn the
	// outcome, the call returns nil (committed) or a plain error (not
	// committed) as usual. SQLite commits locally and never returns it.
	ErrOutcomeUnknown = core.ErrOutcomeUnknown

	// ErrNotFound is wrapped by [Repo.Latest] for a record without rows,
	// and by [DB.RemovePolicy] for a pattern without a policy.
	ErrNotFound = core.ErrNotFound

	// ErrConflict is wrapped by [Sync] when the destination's record of
	// the source does not fit the source: another copy of the same source
	// file pushed other rows, the source is an older copy (a restored
	// backup) of what was pushed, or another Sync of the same source
	// committed meanwhile. Nothing of that batch is written.
	ErrConflict = core.ErrConflict

	// ErrCopiedSource is wrapped by [Sync], together with [ErrConflict],
	// when the conflict is the source's own: another copy of the same
	// source file pushed other rows, or the file is an older copy (a
	// restored backup) of what was pushed. Running Sync again cannot help;
	// a new identity ([DB.NewSourceID]) can: the file then goes on from
	// where it and the pushed history part (docs/sync.md). An
	// ErrConflict without it (another Sync of the source committed
	// meanwhile) passes when Sync runs again.
	ErrCopiedSource = core.ErrCopiedSource

	// ErrNoSourceID is wrapped by [Sync] and [DB.SourceID] when the source's
	// schema predates sync and so has no identity: open it writable once
	// (or run `rechist migrate up`).
	ErrNoSourceID = core.ErrNoSourceID

	// ErrReadOnly is wrapped by the stores, cleanups and other writes of a
	// DB opened with [WithReadOnly]. Nothing is written.
	ErrReadOnly = core.ErrReadOnly
)

// MaxNameBytes is the longest record name rechist stores, in bytes of
// UTF-8: the longest both engines can index. A longer name is refused with
// [ErrInvalidArgument]. (Names that another program wrote into a SQLite
// file may be longer; rechist reads them.)
const MaxNameBytes = core.MaxNameBytes

// Error is the type of every error the library returns: the operation
// ("open", "store", "query", "cleanup", "summary", "close", "migrate
// up", ...) and its cause, which wraps one of the sentinel errors above
// where one applies, a ctx error, or the engine's own error. Use
// [errors.Is] with the sentinels and [errors.As] to reach the engine's
// error; the message is "rechist: OP: CAUSE".
type Error struct {
	Op  string
	Err error
}

func (e *Error) Error() string { return "rechist: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// public turns the core's error type into the package's own at the API
// boundary.
func public(err error) error {
	var ce *core.Error
	if errors.As(err, &ce) && ce == err {
		return &Error{Op: ce.Op, Err: ce.Err}
	}
	return err
}
