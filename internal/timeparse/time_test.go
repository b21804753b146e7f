package timeparse

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

func TestTime(t *testing.T) {
	// time.Local is what the local forms read; a fixed zone makes the
	// answers the same everywhere. Not parallel: it sets time.Local.
	saved := time.Local
	time.Local = time.FixedZone("+05:30", 5*3600+1800)
	defer func() { time.Local = saved }()
	for _, tc := range []struct {
		in   string
		want int64 // Unix ms
	}{
		{"2026-11-25T08:00:00Z", 1795593600000},
		{"2026-11-25T13:30:00+05:30", 1795593600000},
		{"2026-11-25T08:00:00.123456789Z", 1795593600123},
		{"2026-11-25 13:30", 1795593600000},
		{"2026-11-25T13:30", 1795593600000},
		{"2026-11-25 13:30:00.5", 1795593600500},
		{"2026-11-25", 1795593600000 - 13*3600000 - 1800000},
		{"1795593600000", 1795593600000},
		{"1.7955936e12", 1795593600000},
		{"0", 0},
		{"-5", -5},
		{"0001-01-01T00:00:00Z", time.Time{}.UnixMilli()},
		{"9223372036854775807", 9223372036854775807},
	} {
		got, err := Time(tc.in)
		if err != nil || got.UnixMilli() != tc.want {
			t.Errorf("Time(%q) = %v (%d ms), %v; want %d ms", tc.in, got, got.UnixMilli(), err, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"yesterday", `bad time "yesterday": want RFC 3339 (2026-11-25T08:00:00Z), a local date and time`},
		{"", `bad time "": want RFC 3339`},
		{"1795593600", `bad time "1795593600": looks like seconds; multiply by 1000 (rechist reads Unix milliseconds)`},
		{"1.5", `bad time "1.5": not a whole number of Unix milliseconds`},
		{"1e100", `bad time "1e100": out of the range of Unix milliseconds`},
		{"+5", `bad time "+5": want RFC 3339`},
		{"2026-13-01", `bad time "2026-13-01"`},
	} {
		got, err := Time(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Time(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.want)
		} else if !errors.Is(err, rechist.ErrInvalidArgument) {
			t.Errorf("Time(%q): %v does not wrap ErrInvalidArgument", tc.in, err)
		}
	}
}

func TestMillis(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"-0", 0}, {"946684799", 946684799}, {"4102444800", 4102444800}, {"1795593600000", 1795593600000},
		{"1.7955936e12", 1795593600000}, {"17955936000000e-1", 1795593600000}, {"1795593600000.000", 1795593600000},
		{"-9223372036854775808", -9223372036854775808},
	} {
		got, err := Millis(tc.in)
		if err != nil || got.UnixMilli() != tc.want {
			t.Errorf("Millis(%q) = %d, %v; want %d", tc.in, got.UnixMilli(), err, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"946684800", "looks like seconds"}, {"4102444799", "looks like seconds"}, {"1.7955936e9", "looks like seconds"},
		{"1.5", "not a whole number"}, {"9223372036854775808", "out of the range"}, {"1e999", "out of the range"},
		{"1e1000", "not a number"}, {"01", "not a number"}, {"+1", "not a number"}, {"1_000", "not a number"}, {"", "not a number"},
	} {
		got, err := Millis(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.in != "" && strings.Contains(err.Error(), tc.in+" ")) {
			t.Errorf("Millis(%q) = %v, %v; want an error with %q, not repeating the input", tc.in, got, err, tc.want)
		}
	}
}
