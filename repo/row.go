package repo

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// Row is one stored value as the engine sees it: already JSON-encoded.
type Row struct {
	// ID is the row's id in record_history; ignored by Insert.
	ID int64
	// Name is the record name: non-empty, valid UTF-8, without NUL bytes.
	Name string
	// ValueJSON is the value as JSON text. Insert does not parse it: the
	// typed layer (package rechist) is what guarantees it is valid JSON.
	ValueJSON string
	// StoredAt is the Unix time in milliseconds, at least 0.
	StoredAt int64
}

// MaxMillis is the latest storable time: the largest int64 millisecond.
const MaxMillis = math.MaxInt64

// problem says what is wrong with r, or "" when it can be stored.
func (r *Row) problem() string {
	if p := nameProblem("record name", r.Name); p != "" {
		return p
	}
	if r.StoredAt < 0 {
		return fmt.Sprintf("record %s: time %d ms is before the Unix epoch", quoteName(r.Name), r.StoredAt)
	}
	if r.ValueJSON == "" {
		return fmt.Sprintf("record %s: value is empty, want JSON text", quoteName(r.Name))
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
