package repo

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidArgument is wrapped by every error about the caller's input:
	// an empty or malformed record name or pattern, a time outside the stored
	// range, a bad limit or option. Nothing is written when it is returned.
	ErrInvalidArgument = errors.New("invalid argument")

	// ErrClosed is returned by every call made after [Engine.Close] has begun.
	ErrClosed = errors.New("rechist: database is closed")
)

// Invalidf returns an error that wraps ErrInvalidArgument and says what was
// wrong, for example "rechist: store: invalid argument: record name is empty".
func Invalidf(op, format string, args ...any) error {
	return fmt.Errorf("rechist: %s: %w: %s", op, ErrInvalidArgument, fmt.Sprintf(format, args...))
}

// opError wraps a failure of the database itself with the operation it
// interrupted: "rechist: store: database or disk is full (13)".
func opError(op string, err error) error {
	return fmt.Errorf("rechist: %s: %w", op, err)
}
