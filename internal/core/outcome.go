package core

import "errors"

// ErrOutcomeUnknown is wrapped when the connection to the database was lost
// while a transaction was being committed and the engine could not learn
// whether the commit happened: the rows may or may not be stored. Retrying
// blindly may store them twice.
var ErrOutcomeUnknown = errors.New("outcome unknown: the connection was lost during commit")

// RequestError is what Engine.Commit returns when the batch failed because
// of one request's data (a constraint, a trigger, a value the database
// refuses): nothing of the batch was committed, and the writer answers that
// request with Err and commits the others again without it. Request nil
// means some request's data was refused but the engine cannot tell which
// (rows of several requests went in one statement); the writer then tries
// each request alone.
type RequestError struct {
	Request *Request
	Err     error
}

func (e *RequestError) Error() string { return e.Err.Error() }
func (e *RequestError) Unwrap() error { return e.Err }

// retryable marks an error after which nothing of the batch was written and
// the same batch may succeed if tried again: a lock another connection held
// (SQLite's BEGIN meeting BUSY, PostgreSQL's lock timeout).
type retryable struct{ err error }

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

// Retryable marks err as a failure that wrote nothing and may pass if the
// batch is tried again; the writer does, until the batch's deadline or its
// callers' ctx end.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return &retryable{err: err}
}

func isRetryable(err error) bool {
	var r *retryable
	return errors.As(err, &r)
}
