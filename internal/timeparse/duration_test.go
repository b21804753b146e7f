package timeparse

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// Duration takes every form the command line's flags and /api/aggregate's
// every took before they shared it.
func TestDuration(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"90m", 90 * time.Minute}, {"36h", 36 * time.Hour}, {"1.5h", 90 * time.Minute}, {"250ms", 250 * time.Millisecond},
		{"1ns", 1}, {"7d", 7 * day}, {"1d12h", 36 * time.Hour}, {"1d-1h", 23 * time.Hour}, {"0d1s", time.Second},
		{"65535d", 65535 * day}, {"106751d", 106751 * day},
		{"106751d23h47m16.854775807s", time.Duration(1<<63 - 1)},
	} {
		got, err := Duration(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Duration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", `bad duration "": must be positive`},
		{"0s", `bad duration "0s": must be positive`},
		{"-1h", `bad duration "-1h": must be positive`},
		{"1d-25h", `must be positive`},
		{"7x", `bad duration "7x": want a Go duration such as 90m or 36h, or days such as 7d`},
		{"d", `want a Go duration`},
		{"1.5d", `want a Go duration`},
		{"-1d", `want a Go duration`},
		{"1d2d", `want a Go duration`},
		{"106752d", `bad duration "106752d": at most 106751d (about 292 years)`},
		{"106751d24h", `at most 106751d`},
		{"4294967296d", `want a Go duration`},
	} {
		got, err := Duration(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Duration(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.want)
		} else if !errors.Is(err, rechist.ErrInvalidArgument) {
			t.Errorf("Duration(%q): %v does not wrap ErrInvalidArgument", tc.in, err)
		}
	}
}
