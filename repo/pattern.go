package repo

import "strings"

// pattern is a record-name pattern compiled for the queries in queries/.
//
// The language: '*' matches any run of characters, the empty run included;
// every other character, '?', '[', '%', '_' and '\' among them, stands for
// itself; the match covers the whole name and is case-sensitive. A pattern
// without '*' names one record.
type pattern struct {
	// glob is the exact test in SQLite's GLOB syntax, where '?' and '[' are
	// special and so are written as the one-character classes "[?]", "[[]".
	glob string
	// lo and hi bound the names that can match as the half-open range
	// [lo, hi) in bytewise order: lo is the literal prefix before the first
	// '*'. The range is what lets SQLite seek idx_record_time.
	lo, hi string
	// matchesAll is true for a pattern of only '*': every name matches.
	matchesAll bool
}

// globEscaper writes the GLOB form of a pattern: '*' stays the wildcard.
var globEscaper = strings.NewReplacer("[", "[[]", "?", "[?]")

// compilePattern checks p and compiles it; the error wraps ErrInvalidArgument.
func compilePattern(op, p string) (pattern, error) {
	if problem := nameProblem("pattern", p); problem != "" {
		return pattern{}, Invalidf(op, "%s", problem)
	}
	c := pattern{glob: globEscaper.Replace(p), matchesAll: strings.Trim(p, "*") == ""}
	prefix, _, wild := strings.Cut(p, "*")
	c.lo = prefix
	if wild {
		c.hi = prefixEnd(prefix)
	} else {
		// Only p itself sorts in [p, p+"\x00"): names hold no NUL byte.
		c.hi = p + "\x00"
	}
	return c, nil
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
