package core

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/seed178a96f3/rechist/internal/testutil/refmatch"
)

func TestCompilePattern(t *testing.T) {
	for _, tc := range []struct {
		in, glob, lo, hi string
	}{
		{"accuracy::*", "accuracy::*", "accuracy::", "accuracy:;"},
		{"a?b[c]", "a[?]b[[]c]", "a?b[c]", "a?b[c]\x00"},
		{"*", "*", "", "\xff"},
		{"x*y*", "x*y*", "x", "y"},
		{"%_\\", "%_\\", "%_\\", "%_\\\x00"},
		{"é*", "é*", "é", "\xc3\xaa"},
	} {
		p, err := CompilePattern("query", tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if p.Glob != tc.glob || p.Lo != tc.lo || p.Hi != tc.hi {
			t.Errorf("%q: got glob %q [%q, %q), want glob %q [%q, %q)", tc.in, p.Glob, p.Lo, p.Hi, tc.glob, tc.lo, tc.hi)
		}
	}
	for _, bad := range []string{"", "a\x00b", "\xff*"} {
		if _, err := CompilePattern("query", bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%q: got %v, want ErrInvalidArgument", bad, err)
		}
	}
}

// The Go matcher of the '*' language agrees with the reference (a regexp
// written independently) on random patterns and names over an alphabet
// full of characters special elsewhere.
func TestMatchWildcardAgreesWithReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "b", "*", "?", "[", "%", "_", "\\", ".", "é"}
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for range 20000 {
		pat, name := word(rng.IntN(6)+1), strings.ReplaceAll(word(rng.IntN(8)), "*", "")
		p, err := CompilePattern("query", pat)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := p.Match(name), refmatch.Match(pat, name); got != want {
			t.Fatalf("Match(%q, %q) = %v, want %v", pat, name, got, want)
		}
	}
}

// AimDB's topic-pattern cases, and the index range each one bounds.
func TestTopicPatterns(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"sensors.#", "sensors", true},
		{"sensors.#", "sensors.temp.vienna", true},
		{"sensors.#", "sensors_extra.temp", false},
		{"temp.*", "temp.vienna", true},
		{"temp.*", "temp", false},
		{"temp.*", "temp.vienna.indoor", false},
		{"a.#.secret", "a.public", false},
		{"a.#.c", "a.c.b.c", true},
		{"#.a", "a", true},
		{"a/b.*", "a/b.c", true},
		{"a/*", "a/b", false}, // '/' is no separator: "a/*" is one literal segment
		{"sensors*", "sensors*", true},
		{"sensors*", "sensorsX", false},
		{"#", "anything.at.all", true},
		{"*.*", "a.b", true},
		{"*.*", "a", false},
	} {
		p, err := CompileTopicPattern("query", tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Match(tc.name); got != tc.want {
			t.Errorf("%q matches %q: %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
		if tc.want && (tc.name < p.Lo || tc.name >= p.Hi) {
			t.Errorf("%q: %q outside its range [%q, %q)", tc.pattern, tc.name, p.Lo, p.Hi)
		}
	}
}
