// Package timeparse reads the points in time and the durations a user
// types, one way for the command line, `rechist ingest`'s "at" and the HTTP
// API: RFC 3339, local dates and times, Unix milliseconds (a Unix number
// that looks like seconds is refused), and Go durations with whole days.
//
// Its errors say what was typed and what is wanted, and wrap
// [rechist.ErrInvalidArgument] without repeating its text.
package timeparse

import "github.com/seed178a96f3/rechist"

// invalid is bad input: msg alone is its text.
type invalid struct{ msg string }

func (e *invalid) Error() string { return e.msg }
func (e *invalid) Unwrap() error { return rechist.ErrInvalidArgument }
