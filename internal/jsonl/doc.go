// Package jsonl is the JSON Lines codec of `rechist ingest` and
// POST /api/ingest, and of the lines /api/export writes: one record a line,
// {"name": string, "value": any JSON, "at": time}.
//
// [ParseLine] reads a line as strictly as the library stores a record: the
// line is UTF-8, the fields are "name", "value" and "at", each at most once
// and spelled exactly so, and the name holds no escaped lone surrogate
// (encoding/json alone would take "Name" for "name", let a second "name"
// win, and turn bad bytes and lone surrogates into U+FFFD). "at" is Unix
// milliseconds or any form [timeparse.Time] reads; only an absent or null
// "at" means now, and an "at" before the Unix epoch is refused.
//
// Its errors say what is wrong with the line, without a line number, and
// wrap [rechist.ErrInvalidArgument] without repeating its text.
package jsonl

import (
	"fmt"

	"github.com/seed178a96f3/rechist"
)

// invalid is a bad line: msg alone is its text.
type invalid struct{ msg string }

func (e *invalid) Error() string { return e.msg }
func (e *invalid) Unwrap() error { return rechist.ErrInvalidArgument }

func invalidf(format string, args ...any) error {
	return &invalid{fmt.Sprintf(format, args...)}
}
