package repo

import (
	"strings"

	"github.com/seed178a96f3/rechist/internal/core"
)

// maxGlobBytes is SQLite's SQLITE_MAX_LIKE_PATTERN_LENGTH: GLOB refuses a
// longer pattern with an error. A wildcard pattern the core takes
// (core.MaxWildcardPatternBytes) can be up to three times longer written as
// a GLOB ('?' and '[' become classes); such names are tested in Go.
const maxGlobBytes = 50_000

// globEscaper writes a '*'-language pattern in GLOB syntax: '*' stays the
// wildcard, '?' and '[', special to GLOB, become the one-character classes
// "[?]" and "[[]".
var globEscaper = strings.NewReplacer("[", "[[]", "?", "[?]")

// glob is p's exact test in GLOB syntax, for a LangWildcard pattern.
func glob(p core.Pattern) string { return globEscaper.Replace(p.Source()) }

// nameFilter is the GLOB the walk applies to each name in nameRange(p),
// and whether it is the whole test: "*" for an exact pattern (its range
// holds one name) and for a pattern GLOB cannot express (a topic pattern,
// or a GLOB over SQLite's limit), whose names the engine then tests with
// p.Match.
func nameFilter(p core.Pattern) (filter string, complete bool) {
	switch {
	case p.Exact:
		return "*", true
	case p.Lang == core.LangWildcard:
		if g := glob(p); len(g) <= maxGlobBytes {
			return g, true
		}
	}
	return "*", false
}

// nameRange is the half-open range [lo, hi), in bytewise order (SQLite's
// BINARY collation, which idx_record_time is in), of the names p can
// match: the names with p's prefix, or the one name of an exact pattern.
// hi need not be valid UTF-8.
func nameRange(p core.Pattern) (lo, hi string) {
	if p.Exact {
		// Only the name itself sorts in [name, name+"\x00"): names hold
		// no NUL byte.
		return p.Prefix, p.Prefix + "\x00"
	}
	return p.Prefix, prefixEnd(p.Prefix)
}

// prefixEnd returns the least string greater than every string that starts
// with prefix. Names are valid UTF-8, which never holds the byte 0xFF, so
// incrementing the last byte cannot overflow, and "\xff" sorts after every
// name when the prefix is empty.
func prefixEnd(prefix string) string {
	if prefix == "" {
		return "\xff"
	}
	b := []byte(prefix)
	b[len(b)-1]++
	return string(b)
}
