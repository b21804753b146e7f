package core

import (
	"errors"
	"testing"
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
