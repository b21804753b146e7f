package main

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alecthomas/kong"
)

// duration is a flag value: a Go duration (90m, 36h) or whole days (7d),
// or both (1d12h).
type duration time.Duration

func (d *duration) Decode(ctx *kong.DecodeContext) error {
	var s string
	if err := ctx.Scan.PopValueInto("duration", &s); err != nil {
		return err
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = duration(v)
	return nil
}

// maxDays is the most whole days a time.Duration holds.
const maxDays = uint64(math.MaxInt64 / int64(24*time.Hour))

func parseDuration(s string) (time.Duration, error) {
	// time.Duration(n)*24*time.Hour would overflow silently past maxDays.
	bad := fmt.Errorf("bad duration %q: want a Go duration such as 90m or 36h, or days such as 7d", s)
	tooLong := fmt.Errorf("bad duration %q: at most %dd (about 292 years)", s, maxDays)
	var total time.Duration
	rest := s
	if days, after, ok := strings.Cut(s, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 32)
		if err != nil {
			return 0, bad
		}
		if n > maxDays {
			return 0, tooLong
		}
		total, rest = time.Duration(n)*24*time.Hour, after
	}
	if rest != "" {
		v, err := time.ParseDuration(rest)
		if err != nil {
			return 0, bad
		}
		if v > 0 && total > math.MaxInt64-v {
			return 0, tooLong
		}
		total += v
	}
	if total <= 0 {
		return 0, fmt.Errorf("bad duration %q: must be positive", s)
	}
	return total, nil
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
// parseTime reads.
type timeArg time.Time

func (t *timeArg) Decode(ctx *kong.DecodeContext) error {
	var s string
	if err := ctx.Scan.PopValueInto("time", &s); err != nil {
		return err
	}
	v, err := parseTime(s)
	if err != nil {
		return err
	}
	*t = timeArg(v)
	return nil
}

var localLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
}

// timeForms is what parseTime reads, for error messages and help.
const timeForms = "RFC 3339 (2026-11-25T08:00:00Z), a local date and time (2026-11-25 08:00), a local date (2026-11-25) or Unix milliseconds (1795593600000)"

// parseTime reads a point in time as the command line and ingest's "at"
// take it: RFC 3339, a local date and time, a local date, or Unix
// milliseconds (see parseMillis).
func parseTime(s string) (time.Time, error) {
	if jsonNumber.MatchString(s) {
		t, err := parseMillis(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("bad time %q: %w", s, err)
		}
		return t, nil
	}
	if v, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return v, nil
	}
	for _, layout := range localLayouts {
		if v, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return v, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q: want %s", s, timeForms)
}

// jsonNumber is the grammar of a JSON number, with an exponent of at most
// three digits (a larger one is no millisecond an int64 holds, and would
// make big.Rat work for a long time).
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]{1,3})?$`)

// Unix numbers from secondsFrom to secondsTo (2000 to 2100 when read as
// seconds, the first seven weeks of 1970 when read as milliseconds) are
// taken for seconds by mistake and refused.
const (
	secondsFrom = 946_684_800   // 2000-01-01T00:00:00Z in seconds
	secondsTo   = 4_102_444_800 // 2100-01-01T00:00:00Z in seconds
)

// parseMillis reads Unix milliseconds written as a JSON number: 1795593600000,
// or with a fraction or an exponent (1.7955936e12) as long as the value is
// whole. A number that reads as a date from 2000 to 2100 in seconds is
// refused: it is almost surely seconds.
func parseMillis(s string) (time.Time, error) {
	// The common case, whole digits, without the regexp and big.Rat.
	if d := strings.TrimPrefix(s, "-"); d != "" && d[0] != '+' && (d[0] != '0' || len(d) == 1) {
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
			return fromMillis(ms)
		}
	}
	if !jsonNumber.MatchString(s) {
		return time.Time{}, errors.New("not a number")
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return time.Time{}, errors.New("not a number")
	}
	if !r.IsInt() {
		return time.Time{}, errors.New("not a whole number of Unix milliseconds")
	}
	if !r.Num().IsInt64() {
		return time.Time{}, errors.New("out of the range of Unix milliseconds")
	}
	return fromMillis(r.Num().Int64())
}

// fromMillis is the time ms Unix milliseconds, unless ms looks like seconds.
func fromMillis(ms int64) (time.Time, error) {
	if ms >= secondsFrom && ms < secondsTo {
		return time.Time{}, errors.New("looks like seconds; multiply by 1000 (rechist reads Unix milliseconds)")
	}
	return time.UnixMilli(ms), nil
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
