package core

import "strings"

// Pattern is a record-name pattern compiled for the engines' queries.
//
// The language: '*' matches any run of characters, the empty run included;
// every other character, '?', '[', '%', '_' and '\' among them, stands for
// itself; the match covers the whole name and is case-sensitive. A pattern
// without '*' names one record.
type Pattern struct {
	// Glob is the exact test in SQLite's GLOB syntax, where '?' and '[' are
	// special and so are written as the one-character classes "[?]", "[[]".
	Glob string
	// Like is the exact test in LIKE syntax with '\' as the escape
	// character (PostgreSQL's default): '%', '_' and '\' escaped, '*' as '%'.
	Like string
	// Lo and Hi bound the names that can match as the half-open range
	// [Lo, Hi) in bytewise order: Lo is the literal prefix before the first
	// '*'. The range is what lets the engine seek idx_record_time.
	Lo, Hi string
	// MatchesAll is true for a pattern of only '*': every name matches.
	MatchesAll bool
	// NameFilter is the GLOB the walk applies to each name in [Lo, Hi):
	// Glob, or "*" for a pattern without '*', whose range is exact. (SQLite
	// refuses GLOB patterns longer than 50,000 bytes; names may be longer.)
	NameFilter string
}

var (
	// globEscaper writes the GLOB form of a pattern: '*' stays the wildcard.
	globEscaper = strings.NewReplacer("[", "[[]", "?", "[?]")
	// likeEscaper writes the LIKE form: '*' becomes '%'.
	likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`, "*", "%")
)

// maxGlobBytes is SQLite's SQLITE_MAX_LIKE_PATTERN_LENGTH.
const maxGlobBytes = 50_000

// CompilePattern checks p and compiles it; the error wraps
// ErrInvalidArgument and says what is wrong.
func CompilePattern(op, p string) (Pattern, error) {
	if problem := nameProblem("pattern", p); problem != "" {
		return Pattern{}, Invalidf(op, "%s", problem)
	}
	for strings.Contains(p, "**") { // the same language, a shorter GLOB
		p = strings.ReplaceAll(p, "**", "*")
	}
	c := Pattern{Glob: globEscaper.Replace(p), Like: likeEscaper.Replace(p), MatchesAll: p == "*"}
	c.NameFilter = c.Glob
	if !strings.Contains(p, "*") {
		c.NameFilter = "*"
	} else if len(c.Glob) > maxGlobBytes {
		return Pattern{}, Invalidf(op, "pattern with '*' is %d bytes written as a GLOB; SQLite takes at most %d", len(c.Glob), maxGlobBytes)
	}
	prefix, _, wild := strings.Cut(p, "*")
	c.Lo = prefix
	if wild {
		c.Hi = prefixEnd(prefix)
	} else {
		// Only p itself sorts in [p, p+"\x00"): names hold no NUL byte.
		c.Hi = p + "\x00"
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
