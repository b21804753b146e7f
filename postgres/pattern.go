package postgres

import (
	"strings"
	"unicode/utf8"

	"github.com/seed178a96f3/rechist/internal/core"
)

var (
	// likeEscaper writes a '*'-language pattern as a LIKE pattern with '\'
	// as the escape character (PostgreSQL's default): '%', '_' and '\'
	// escaped, '*' as '%'.
	likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`, "*", "%")
	// literalEscaper writes text LIKE must take literally: '*' stays '*'.
	literalEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)
)

// likeFilter is the LIKE pattern the walk applies to each name, and
// whether it is the whole test: a '*'-language pattern and an exact name
// are tested in SQL; any other language (topic patterns) only by its
// prefix there, and then in Go with p.Match.
func likeFilter(p core.Pattern) (like string, complete bool) {
	switch {
	case p.Exact:
		return literalEscaper.Replace(p.Prefix), true
	case p.Lang == core.LangWildcard:
		return likeEscaper.Replace(p.Source()), true
	}
	return literalEscaper.Replace(p.Prefix) + "%", false
}

// upperBound is the bound above every name p can match, as valid text (a
// bytewise successor such as the core's prefix+1 byte need not be UTF-8,
// which PostgreSQL text must be): the prefix's textPrefixEnd. false: no
// bound, the query runs open-ended. An exact name's range is widened to
// its successor as well (text holds no NUL, so [name, name+"\x00") cannot
// be written); the walk's LIKE or the core's Match keeps it to the name.
func upperBound(p core.Pattern) (string, bool) { return textPrefixEnd(p.Prefix) }

// textPrefixEnd returns a valid UTF-8 string greater than every string that
// starts with prefix: prefix with its last rune incremented (the bytewise
// order of UTF-8 is the order of code points). It reports false when there
// is none (an empty prefix, or one of U+10FFFF only).
func textPrefixEnd(prefix string) (string, bool) {
	for prefix != "" {
		r, size := utf8.DecodeLastRuneInString(prefix)
		prefix = prefix[:len(prefix)-size]
		switch {
		case r == utf8.MaxRune:
			continue
		case r == 0xD7FF:
			r = 0xE000 // skip the surrogates, which UTF-8 cannot hold
		default:
			r++
		}
		return prefix + string(r), true
	}
	return "", false
}
