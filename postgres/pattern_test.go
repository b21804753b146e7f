package postgres

import (
	"testing"

	"github.com/seed178a96f3/rechist/internal/core"
)

// The PostgreSQL forms of a compiled pattern: its LIKE (with '\' escapes)
// and the valid-text upper bound of the names it can match.
func TestPatternSQL(t *testing.T) {
	wild := func(s string) core.Pattern { p, _ := core.CompilePattern("query", s); return p }
	topic, _ := core.CompileTopicPattern("query", "a.*.c")
	exact, _ := core.ExactPattern("latest", `a*%_\b`)
	for _, tc := range []struct {
		p              core.Pattern
		like, hi       string
		complete, open bool
	}{
		{wild("accuracy::*"), "accuracy::%", "accuracy:;", true, false},
		{wild(`a%b_c\*`), `a\%b\_c\\%`, `a%b_c]`, true, false},
		{wild("a?b[c]"), "a?b[c]", "a?b[c^", true, false},
		{wild("*x"), "%x", "", true, true},
		{wild("\U0010FFFF*"), "\U0010FFFF%", "", true, true},
		{wild("a\U0010FFFF*"), "a\U0010FFFF%", "b", true, false},
		{wild("\uD7FF*"), "\uD7FF%", "\uE000", true, false},
		{exact, `a*\%\_\\b`, `a*%_\c`, true, false},
		{topic, "a.%", "a/", false, false},
	} {
		like, complete := likeFilter(tc.p)
		hi, bounded := upperBound(tc.p)
		if like != tc.like || complete != tc.complete || hi != tc.hi || bounded == tc.open {
			t.Errorf("%q: got LIKE %q %v, bound %q %v; want LIKE %q %v, bound %q %v", tc.p.Source(),
				like, complete, hi, bounded, tc.like, tc.complete, tc.hi, !tc.open)
		}
	}
}
