package core

import "strings"

// Pattern is a compiled record-name pattern: what every engine needs to
// find the names it matches, and nothing of any engine's SQL. Each engine
// turns it into its own query (repo/pattern.go, postgres/pattern.go).
//
// Every name the pattern matches starts with Prefix, so an engine can seek
// its name index from Prefix on; when Exact is set, Prefix is the only
// name it matches. Names an engine's query returns beyond that are tested
// with Match, which is the definition of the language; an engine may
// instead test names in SQL when its SQL can express Lang exactly.
type Pattern struct {
	// Prefix is the literal text every matching name starts with: a
	// wildcard pattern's text before its first '*', a topic pattern's
	// literal segments before its first wildcard segment, an exact name
	// itself.
	Prefix string
	// Exact is true for a pattern that matches the name Prefix and no
	// other: a wildcard pattern without '*', a topic pattern without a
	// wildcard segment, an ExactPattern.
	Exact bool
	// MatchesAll is true for a pattern that every name matches: "*", or
	// the topic pattern "#".
	MatchesAll bool
	// Lang is the language Source is written in.
	Lang Language

	src string // the pattern as given ('*' runs collapsed in LangWildcard)
}

// Language is the language of a Pattern's Source.
type Language uint8

const (
	// LangWildcard is rechist's own language (CompilePattern): '*'
	// matches any run of characters, the empty run included; every other
	// character, '?', '[', '%', '_' and '\' among them, stands for itself;
	// the match covers the whole name and is case-sensitive. Engines
	// translate it into their SQL (GLOB, LIKE).
	LangWildcard Language = iota + 1
	// LangTopic is the topic language (CompileTopicPattern,
	// WithTopicPatterns): dot-separated segments, "*" one segment, "#"
	// zero or more. No engine's SQL expresses it: names are tested with
	// Match.
	LangTopic
	// LangName is one record name taken literally, '*' included
	// (ExactPattern): Exact is set and Prefix is the name.
	LangName
)

// Source returns the pattern's text in its language, runs of '*'
// collapsed into one in LangWildcard.
func (p Pattern) Source() string { return p.src }

// Match reports whether name matches the pattern, in Go: the definition
// of every language, which the engines' SQL must agree with.
func (p Pattern) Match(name string) bool {
	switch p.Lang {
	case LangTopic:
		return matchTopic(strings.Split(p.src, "."), strings.Split(name, "."))
	case LangWildcard:
		return matchWildcard(p.src, name)
	}
	return name == p.src
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

// MaxWildcardPatternBytes is the longest wildcard pattern with '*' that
// every engine takes, counted once runs of '*' are collapsed; a longer one
// is ErrInvalidArgument on every engine. (A pattern without '*' names one
// record and has no limit: a name another program stored may be longer.)
// Engines whose SQL takes less test such names in Go (repo/pattern.go).
const MaxWildcardPatternBytes = 50_000

// CompilePattern checks p and compiles it; the error wraps
// ErrInvalidArgument and says what is wrong.
func CompilePattern(op, p string) (Pattern, error) {
	if problem := nameProblem("pattern", p); problem != "" {
		return Pattern{}, Invalidf(op, "%s", problem)
	}
	for strings.Contains(p, "**") { // the same language, a shorter pattern
		p = strings.ReplaceAll(p, "**", "*")
	}
	prefix, _, wild := strings.Cut(p, "*")
	if wild && len(p) > MaxWildcardPatternBytes {
		return Pattern{}, Invalidf(op, "pattern with '*' is %d bytes; at most %d are taken", len(p), MaxWildcardPatternBytes)
	}
	return Pattern{Prefix: prefix, Exact: !wild, MatchesAll: p == "*", Lang: LangWildcard, src: p}, nil
}

// CompileTopicPattern checks and compiles a topic pattern: dot-separated
// segments, where a segment "*" matches exactly one segment and "#" zero or
// more; everything else, '*' inside a segment and '/' included, is
// literal. The literal segments before the first wildcard are the prefix.
func CompileTopicPattern(op, p string) (Pattern, error) {
	if problem := nameProblem("pattern", p); problem != "" {
		return Pattern{}, Invalidf(op, "%s", problem)
	}
	segs := strings.Split(p, ".")
	c := Pattern{Lang: LangTopic, src: p}
	wild := -1
	for i, s := range segs {
		if s == "*" || s == "#" {
			wild = i
			break
		}
	}
	switch {
	case wild < 0: // no wildcard: one name
		c.Prefix, c.Exact = p, true
	case wild == 0:
		c.MatchesAll = p == "#"
	case segs[wild] == "#":
		// "a.b.#" matches "a.b" itself: the prefix has no trailing dot.
		c.Prefix = strings.Join(segs[:wild], ".")
	default:
		c.Prefix = strings.Join(segs[:wild], ".") + "."
	}
	return c, nil
}

// ExactPattern is the pattern that selects the record named name and no
// other, whatever characters it holds ('*' included).
func ExactPattern(op, name string) (Pattern, error) {
	if problem := nameProblem("record name", name); problem != "" {
		return Pattern{}, Invalidf(op, "%s", problem)
	}
	return Pattern{Prefix: name, Exact: true, Lang: LangName, src: name}, nil
}
