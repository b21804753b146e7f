// Package refmatch is rechist's pattern language written independently of
// the library, for tests to check the library against. It imports nothing
// of rechist, so the engines' own (internal) tests can use it too.
package refmatch

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Match is the pattern language written independently of the
// library, to check it against: '*' matches any run of characters, the
// empty one and newlines included; every other character, '?', '%', '_',
// '[', '\' and NUL among them, matches only itself; the pattern must match
// the whole name; case matters.
//
// Patterns and names are UTF-8 (the library refuses anything else with
// ErrInvalidArgument): a pattern or a name that is not valid UTF-8 matches
// nothing here.
func Match(pattern, name string) bool {
	if !utf8.ValidString(pattern) || !utf8.ValidString(name) {
		return false
	}
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`^(?s:` + strings.Join(parts, ".*") + `)$`).MatchString(name)
}
