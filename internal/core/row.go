package core

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// Row is one stored value as the engine sees it: already JSON-encoded.
type Row struct {
	// ID is the row's id in record_history; ignored on insert.
	ID int64
	// Name is the record name: non-empty, valid UTF-8, without NUL bytes.
	Name string
	// ValueJSON is the value as JSON text. The core does not parse it: the
	// typed layer (package rechist) is what guarantees it is valid JSON.
	ValueJSON string
	// StoredAt is the Unix time in milliseconds, at least 0.
	StoredAt int64
}

// MaxNameBytes is the longest record name both engines store and index:
// PostgreSQL's B-tree refuses index entries of more than 2,704 bytes, and
// idx_record_time holds the name with two BIGINTs.
const MaxNameBytes = 2048

// Range selects rows for a query.
type Range struct {
	// StartMs and EndMs bound stored_at, both inclusive.
	StartMs, EndMs int64
	// LimitPerRecord keeps only the newest rows of each record (the
	// oldest with OldestFirst); 0 means all.
	LimitPerRecord int64
	// OldestFirst gives each record's rows oldest first, the later insert
	// still first among equal times: SQLite's idx_record_time read
	// backwards, with no sort.
	OldestFirst bool
}

// Unbounded is the Range that selects every row.
var Unbounded = Range{StartMs: math.MinInt64, EndMs: math.MaxInt64}

// check says what is wrong with r, as an error for op, or nil.
func (r Range) check(op string) error {
	switch {
	case r.LimitPerRecord < 0:
		return Invalidf(op, "limit per record must not be negative, got %d", r.LimitPerRecord)
	case r.StartMs > r.EndMs:
		return Invalidf(op, "start %d ms is after end %d ms", r.StartMs, r.EndMs)
	}
	return nil
}

// validateRows checks rows for an insert; the error wraps
// ErrInvalidArgument and names the first bad row.
func validateRows(op string, rows []Row) error {
	for i := range rows {
		if problem := rows[i].problem(); problem != "" {
			if len(rows) > 1 {
				return Invalidf(op, "record %d of %d: %s", i, len(rows), problem)
			}
			return Invalidf(op, "%s", problem)
		}
	}
	return nil
}

// Problem says why r cannot be stored, or "" when it can: what Insert
// refuses it for, and what the typed layer refuses in its value
// (ValueProblem). For input read line by line (ingest), to report every
// bad line before storing any.
func (r *Row) Problem() string {
	if p := r.problem(); p != "" {
		return p
	}
	if p := ValueProblem([]byte(r.ValueJSON)); p != "" {
		return fmt.Sprintf("record %s: %s", quoteName(r.Name), p)
	}
	return ""
}

// problem says what is wrong with r, or "" when it can be stored.
func (r *Row) problem() string {
	if p := nameProblem("record name", r.Name); p != "" {
		return p
	}
	if len(r.Name) > MaxNameBytes {
		return fmt.Sprintf("record name %s is longer than %d bytes", quoteName(r.Name), MaxNameBytes)
	}
	if r.StoredAt < 0 {
		return fmt.Sprintf("record %s: time %d ms is before the Unix epoch", quoteName(r.Name), r.StoredAt)
	}
	if r.ValueJSON == "" {
		return fmt.Sprintf("record %s: value is empty, want JSON text", quoteName(r.Name))
	}
	if !utf8.ValidString(r.ValueJSON) {
		return fmt.Sprintf("record %s: value is not valid UTF-8", quoteName(r.Name))
	}
	return ""
}

// nameProblem checks a record name or pattern: what the schema stores is
// TEXT, compared bytewise, and SQLite's text functions stop at a NUL byte
// and assume UTF-8, so anything else could not be matched reliably.
func nameProblem(what, s string) string {
	switch {
	case s == "":
		return what + " is empty"
	case !utf8.ValidString(s):
		return fmt.Sprintf("%s %s is not valid UTF-8", what, quoteName(s))
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Sprintf("%s %s contains a NUL byte", what, quoteName(s))
	}
	return ""
}

// quoteName quotes s for an error message, shortened if it is long.
func quoteName(s string) string {
	const most = 64
	if len(s) > most {
		return fmt.Sprintf("%q… (%d bytes)", s[:most], len(s))
	}
	return fmt.Sprintf("%q", s)
}
