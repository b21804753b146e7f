package core

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/seed178a96f3/rechist/internal/testutil/refmatch"
)

// A wildcard pattern compiles to its literal prefix and whether it names
// one record; the engines' SQL forms are tested with each engine
// (repo/pattern_test.go, postgres/pattern_test.go).
func TestCompilePattern(t *testing.T) {
	for _, tc := range []struct {
		in, src, prefix string
		exact, all      bool
	}{
		{"accuracy::*", "accuracy::*", "accuracy::", false, false},
		{"a?b[c]", "a?b[c]", "a?b[c]", true, false},
		{"*", "*", "", false, true},
		{"***", "*", "", false, true},
		{"x**y*", "x*y*", "x", false, false},
		{"%_\\", "%_\\", "%_\\", true, false},
		{"é*", "é*", "é", false, false},
	} {
		p, err := CompilePattern("query", tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if p.Source() != tc.src || p.Prefix != tc.prefix || p.Exact != tc.exact || p.MatchesAll != tc.all || p.Lang != LangWildcard {
			t.Errorf("%q: got %+v (source %q), want source %q prefix %q exact %v all %v", tc.in, p, p.Source(), tc.src, tc.prefix, tc.exact, tc.all)
		}
	}
	for _, bad := range []string{"", "a\x00b", "\xff*"} {
		if _, err := CompilePattern("query", bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%q: got %v, want ErrInvalidArgument", bad, err)
		}
	}
}

// A pattern with '*' is taken up to MaxWildcardPatternBytes once its runs
// of '*' collapse, whatever characters it holds, and refused as invalid
// input beyond; a pattern without '*' (one name) has no limit.
func TestWildcardPatternLimit(t *testing.T) {
	at := strings.Repeat("[", MaxWildcardPatternBytes-1) + "*"
	for _, ok := range []string{at, at + "***", strings.Repeat("?", 1<<20)} {
		if _, err := CompilePattern("query", ok); err != nil {
			t.Errorf("%d-byte pattern: %v", len(ok), err)
		}
	}
	if _, err := CompilePattern("query", "a"+at); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("%d-byte pattern: got %v, want ErrInvalidArgument", len(at)+1, err)
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

// AimDB's topic-pattern cases, and the names each one's prefix bounds.
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
		if tc.want && (!strings.HasPrefix(tc.name, p.Prefix) || p.Exact && tc.name != p.Prefix) {
			t.Errorf("%q: %q outside its names (prefix %q, exact %v)", tc.pattern, tc.name, p.Prefix, p.Exact)
		}
	}
}

// ExactPattern takes every character literally, '*' too.
func TestExactPattern(t *testing.T) {
	p, err := ExactPattern("latest", "a*b")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Exact || p.Prefix != "a*b" || p.Lang != LangName || !p.Match("a*b") || p.Match("aXb") {
		t.Errorf("ExactPattern(%q) = %+v", "a*b", p)
	}
}
