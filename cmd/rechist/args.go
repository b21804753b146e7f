package main

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alecthomas/kong"

	"github.com/seed178a96f3/rechist/internal/timeparse"
)

// duration is a flag value: a Go duration (90m, 36h) or whole days (7d),
// or both (1d12h), as timeparse.Duration reads it.
type duration time.Duration

func (d *duration) Decode(ctx *kong.DecodeContext) error {
	var s string
	if err := ctx.Scan.PopValueInto("duration", &s); err != nil {
		return err
	}
	v, err := timeparse.Duration(s)
	if err != nil {
		return err
	}
	*d = duration(v)
	return nil
}

// String prints d as the flag takes it: whole days, then the rest (7d,
// 1d12h0m0s, 90m0s).
func (d duration) String() string {
	v := time.Duration(d)
	days := v / (24 * time.Hour)
	rest := v - days*24*time.Hour
	switch {
	case days == 0:
		return rest.String()
	case rest == 0:
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%v", days, rest)
}

// timeArg is a flag value for a point in time, in any of the forms
// timeparse.Time reads.
type timeArg time.Time

func (t *timeArg) Decode(ctx *kong.DecodeContext) error {
	var s string
	if err := ctx.Scan.PopValueInto("time", &s); err != nil {
		return err
	}
	v, err := timeparse.Time(s)
	if err != nil {
		return err
	}
	*t = timeArg(v)
	return nil
}

func (t *timeArg) Time() time.Time {
	if t == nil {
		return time.Time{}
	}
	return time.Time(*t)
}

// The checks below repeat the library's for what the user typed, so that a
// bad argument is reported (exit status 2) before the database is opened,
// and a reading command never fails on a missing file first.

// checkPattern refuses the record patterns the library refuses.
func checkPattern(p string) error {
	switch {
	case p == "":
		return usagef("pattern is empty")
	case !utf8.ValidString(p):
		return usagef("pattern %q is not valid UTF-8", p)
	case strings.IndexByte(p, 0) >= 0:
		return usagef("pattern %q contains a NUL byte", p)
	}
	return nil
}

// epoch is the earliest time rechist stores.
var epoch = time.UnixMilli(0)

// checkRange refuses query bounds the library refuses: before the Unix
// epoch, or start after end. Zero times are unbounded.
func checkRange(start, end time.Time) error {
	for _, b := range []struct {
		name string
		t    time.Time
	}{{"start", start}, {"end", end}} {
		if !b.t.IsZero() && b.t.Before(epoch) {
			return usagef("%s %s is before 1970-01-01, the earliest time rechist stores", b.name, b.t.Format(timeLayout))
		}
	}
	if !start.IsZero() && !end.IsZero() && start.After(end) {
		return usagef("start %s is after end %s", start.Format(timeLayout), end.Format(timeLayout))
	}
	return nil
}
