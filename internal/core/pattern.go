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
	// Topic is true for a pattern the engines' SQL tests (Glob, Like,
	// NameFilter) do not express: a topic pattern (WithTopicPatterns) or an
	// ExactPattern. Names in [Lo, Hi) are then tested with Match only.
	Topic bool

	src   string // the pattern as given ('*' runs collapsed)
	exact bool   // ExactPattern: src is the name itself
}

// Match reports whether name matches the pattern, in Go: the same answer
// as the engines' SQL for the '*' language, and the only test for topic
// patterns.
func (p Pattern) Match(name string) bool {
	if p.exact {
		return name == p.src
	}
	if p.Topic {
		return matchTopic(strings.Split(p.src, "."), strings.Split(name, "."))
	}
	return matchWildcard(p.src, name)
}

// matchWildcard is the '*' language: '*' any run of bytes, every other
// byte itself, the whole name. Greedy with backtracking to the last '*':
// linear in practice, at worst len(pattern)*len(name).
func matchWildcard(pattern, name string) bool {
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case p < len(pattern) && pattern[p] == name[n]:
			p++
			n++
		case star >= 0:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// matchTopic is the topic language over dot-separated segments: a "*"
// segment is exactly one segment, a "#" segment zero or more, any other
// segment itself (RabbitMQ's topic exchange).
func matchTopic(pat, name []string) bool {
	if len(pat) == 0 {
		return len(name) == 0
	}
	switch pat[0] {
	case "#":
		for skip := 0; skip <= len(name); skip++ {
			if matchTopic(pat[1:], name[skip:]) {
				return true
			}
		}
		return false
	case "*":
		return len(name) > 0 && matchTopic(pat[1:], name[1:])
	}
	return len(name) > 0 && name[0] == pat[0] && matchTopic(pat[1:], name[1:])
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
	c := Pattern{Glob: globEscaper.Replace(p), Like: likeEscaper.Replace(p), MatchesAll: p == "*", src: p}
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

// CompileTopicPattern checks and compiles a topic pattern: dot-separated
// segments, where a segment "*" matches exactly one segment and "#" zero or
// more; everything else, '*' inside a segment and '/' included, is
// literal. The literal segments before the first wildcard bound the names
// that can match, as [Lo, Hi).
func CompileTopicPattern(op, p string) (Pattern, error) {
	if problem := nameProblem("pattern", p); problem != "" {
		return Pattern{}, Invalidf(op, "%s", problem)
	}
	segs := strings.Split(p, ".")
	c := Pattern{Topic: true, src: p}
	wild := -1
	for i, s := range segs {
		if s == "*" || s == "#" {
			wild = i
			break
		}
	}
	switch {
	case wild < 0: // no wildcard: one name
		c.Lo, c.Hi = p, p+"\x00"
	case wild == 0:
		c.Lo, c.Hi = "", prefixEnd("")
		c.MatchesAll = p == "#"
	case segs[wild] == "#":
		// "a.b.#" matches "a.b" itself: the prefix has no trailing dot.
		c.Lo = strings.Join(segs[:wild], ".")
		c.Hi = prefixEnd(c.Lo)
	default:
		c.Lo = strings.Join(segs[:wild], ".") + "."
		c.Hi = prefixEnd(c.Lo)
	}
	return c, nil
}

// ExactPattern is the pattern that selects the record named name and no
// other, whatever characters it holds ('*' included).
func ExactPattern(op, name string) (Pattern, error) {
	if problem := nameProblem("record name", name); problem != "" {
		return Pattern{}, Invalidf(op, "%s", problem)
	}
	return Pattern{Lo: name, Hi: name + "\x00", Topic: true, src: name, exact: true}, nil
}
