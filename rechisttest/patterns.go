package rechisttest

// Name patterns: only * is special.

import (
	"testing"

	"github.com/seed178a96f3/rechist"
)

func testPatternCharactersAreLiteral(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
	r := rechist.NewRepo[string](db)
	all := []string{
		"a_c", "abc", "a%c", "aXc", "a?c", "a\\c", "a\\\\c", "a[b]c", "ab", "a.c",
		"Accuracy::vienna", "accuracy::vienna", "accuracy::", "accuracy:", "x*y", "xzy",
	}
	for i, n := range all {
		storeAt(t, r, n, n, ms(int64(i)))
	}
	for _, tc := range []struct{ pattern, want string }{
		{"a_c", "a_c"},       // _ is no single-character wildcard
		{"a%c", "a%c"},       // % is no wildcard
		{"a?c", "a?c"},       // ? is no single-character wildcard
		{"a\\c", "a\\c"},     // \ is no escape
		{"a\\\\c", "a\\\\c"}, // nor is a doubled one
		{"a[b]c", "a[b]c"},   // [ is no character class
		{"a.c", "a.c"},       // . is no regexp
		{"a*c", "a%c a.c a?c aXc a[b]c a\\\\c a\\c a_c abc"},
		{"a*", "a%c a.c a?c aXc a[b]c a\\\\c a\\c a_c ab abc accuracy: accuracy:: accuracy::vienna"},
		{"accuracy::*", "accuracy:: accuracy::vienna"}, // * matches the empty run
		{"ACCURACY::*", ""}, // case-sensitive
		{"Accuracy::*", "Accuracy::vienna"},
		{"accuracy::VIENNA", ""},
		{"x*y", "x*y xzy"}, // * in a pattern is always the wildcard
		{"*c", "a%c a.c a?c aXc a[b]c a\\\\c a\\c a_c abc"},
		{"*vienna", "Accuracy::vienna accuracy::vienna"},
		{"ab", "ab"}, // no * means exactly that name, not a prefix
	} {
		got, err := r.QueryLatest(t.Context(), tc.pattern, 1)
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		if names(got) != tc.want {
			t.Errorf("pattern %q matched %q, want %q", tc.pattern, names(got), tc.want)
		}
	}
}
