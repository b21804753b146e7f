package core

import (
	"context"
	"errors"
	"fmt"
)

// The sentinels; package rechist re-exports them under the same names and
// documents which calls return each.
var (
	ErrInvalidArgument = errors.New("invalid argument")
	ErrClosed          = errors.New("database is closed")
	ErrBusy            = errors.New("database is busy")
	ErrDiskFull        = errors.New("disk is full")
	ErrReadOnly        = errors.New("database is open read-only")
)

// Error is a failed operation: what was being done (Op: "store", "query",
// "cleanup", "open", ...) and why. Every error the core returns is one;
// package rechist turns it into a *rechist.Error at its boundary.
type Error struct {
	Op  string
	Err error
}

func (e *Error) Error() string { return "rechist: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// Invalidf returns an error about the caller's input: it wraps
// ErrInvalidArgument and says what was wrong, as in
// "rechist: store: invalid argument: record name is empty".
func Invalidf(op, format string, args ...any) error {
	return &Error{Op: op, Err: fmt.Errorf("%w: %s", ErrInvalidArgument, fmt.Sprintf(format, args...))}
}

// classified marks a driver error with the sentinel it amounts to
// (ErrBusy, ErrDiskFull) while keeping the driver's own message and error.
type classified struct {
	kind error
	err  error
}

func (c *classified) Error() string   { return c.err.Error() }
func (c *classified) Unwrap() []error { return []error{c.kind, c.err} }

// Wrap returns err as an *Error for op. An error that is already an *Error
// is returned as it is; one that the classify func recognises (an engine's
// BUSY or disk-full code) also wraps the matching sentinel. Context errors
// and ErrClosed are wrapped like the rest, so errors.Is finds them.
func Wrap(op string, err error, classify func(error) error) error {
	if err == nil {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) && ce == err {
		return err
	}
	if classify != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		if kind := classify(err); kind != nil && !errors.Is(err, kind) {
			err = &classified{kind: kind, err: err}
		}
	}
	return &Error{Op: op, Err: err}
}
