package rechisttest

// Name patterns: only * is special.

import (
	"errors"
	"strings"
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

// A pattern with '*' is taken up to 50,000 bytes (runs of '*' collapsed),
// whatever characters it holds, and refused as invalid input beyond, by
// every call that takes a pattern; the same on every engine, though
// SQLite's GLOB takes only 50,000 bytes and writes '[' and '?' as three.
func testLongWildcardPatterns(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
	r := rechist.NewRepo[string](db)
	storeAt(t, r, "[[x", "short", ms(1))
	const most = 50_000
	for _, tc := range []struct {
		pattern string
		ok      bool
	}{
		{strings.Repeat("[", most-1) + "*", true},
		{"[[*" + strings.Repeat("?", most-4) + "*", true},
		{"*" + strings.Repeat("[*", most/2), false},
		{strings.Repeat("?", most) + "*", false},
	} {
		_, qerr := r.QueryLatest(t.Context(), tc.pattern, 1)
		_, rerr := db.Records(t.Context(), tc.pattern)
		for what, err := range map[string]error{"QueryLatest": qerr, "Records": rerr} {
			if tc.ok && err != nil || !tc.ok && !errors.Is(err, rechist.ErrInvalidArgument) {
				t.Errorf("%s of a %d-byte pattern: %v, want ok %v", what, len(tc.pattern), err, tc.ok)
			}
		}
	}
	got, err := r.QueryLatest(t.Context(), "[[*"+strings.Repeat("[", 20_000), 1)
	if err != nil || len(got) != 0 {
		t.Errorf("a pattern matching no name: %d records, %v", len(got), err)
	}
}
