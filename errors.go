package rechist

import "github.com/seed178a96f3/rechist/repo"

var (
	// ErrInvalidArgument is wrapped by every error about the caller's input,
	// from every call: an empty or malformed record name or pattern, n < 1
	// or a negative limit, Start after End, a time before the Unix epoch or
	// past the int64-millisecond range, a value JSON cannot encode, a bad
	// option passed to [Open]. Nothing is written when it is returned.
	ErrInvalidArgument = repo.ErrInvalidArgument

	// ErrClosed is returned by every call on a [DB] (and its [Repo]s) made
	// after [DB.Close] has begun.
	ErrClosed = repo.ErrClosed
)
