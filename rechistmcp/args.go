package rechistmcp

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/timeparse"
)

// badArg is a bad argument of a tool call: its message is what the
// assistant reads; it wraps rechist.ErrInvalidArgument without repeating
// its text.
type badArg struct{ msg string }

func (b *badArg) Error() string { return b.msg }
func (b *badArg) Unwrap() error { return rechist.ErrInvalidArgument }

func badf(format string, args ...any) error { return &badArg{fmt.Sprintf(format, args...)} }

// timeForms is what a time argument reads, for schemas and errors.
const timeForms = "RFC 3339 (2026-11-25T08:00:00Z or with an offset), a local date and time (2026-11-25 08:00) or date (2026-11-25) in the call's zone, Unix milliseconds, a duration back from now (7d, 36h, 90m, 1d12h) or \"now\""

// epoch is the earliest time rechist stores.
var epoch = time.UnixMilli(0)

// pattern checks a pattern argument; "" is every record.
func (c config) pattern(p string) (string, error) {
	switch {
	case p == "":
		return c.defaultPattern(), nil
	case !utf8.ValidString(p):
		return "", badf("pattern %q is not valid UTF-8", p)
	case strings.IndexByte(p, 0) >= 0:
		return "", badf("pattern %q contains a NUL byte", p)
	case len(p) > rechist.MaxNameBytes:
		return "", badf("pattern is %d bytes long, at most %d", len(p), rechist.MaxNameBytes)
	}
	return p, nil
}

// location reads a tz argument: an IANA name, "UTC" or "Local"; "" is the
// server's zone.
func (c config) location(tz string) (*time.Location, error) {
	if tz == "" {
		return c.zone, nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, badf("tz %q is not a time zone: want an IANA name such as Europe/Vienna, or UTC", tz)
	}
	return loc, nil
}

// timeArg reads a point in time (see timeForms); "" is the zero time (that
// side unbounded). Local dates and times are read in loc.
func timeArg(name, s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	var t time.Time
	switch rel := strings.TrimSuffix(strings.TrimPrefix(s, "-"), " ago"); {
	case strings.EqualFold(s, "now"):
		t = now
	case rel != "" && rel[len(rel)-1] >= 'a' && rel[len(rel)-1] <= 'z' && !strings.ContainsAny(rel, ":T") && startsWithDigit(rel):
		d, err := timeparse.Duration(rel)
		if err != nil {
			return time.Time{}, badf("%s: %v", name, err)
		}
		t = now.Add(-d)
	default:
		v, ok := localTime(s, loc)
		if !ok {
			var err error
			if v, err = timeparse.Time(s); err != nil {
				return time.Time{}, badf("%s: bad time %q: want %s", name, s, timeForms)
			}
		}
		t = v
	}
	if t.Before(epoch) {
		return time.Time{}, badf("%s %s is before 1970-01-01, the earliest time rechist stores", name, t.Format(time.RFC3339))
	}
	return t, nil
}

// localLayouts are the local date and time forms timeparse.Time reads
// (in time.Local); timeArg reads them in the call's zone.
var localLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
}

// localTime reads a local date and time in loc, as time.ParseInLocation
// does (a wall time in a gap where clocks go forward reads as the
// instant time.Date gives it, whatever the process's own zone).
func localTime(s string, loc *time.Location) (time.Time, bool) {
	for _, layout := range localLayouts {
		if v, err := time.ParseInLocation(layout, s, loc); err == nil {
			return v, true
		}
	}
	return time.Time{}, false
}

func startsWithDigit(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

// timeRange reads start and end; end defaults to unbounded.
func timeRange(start, end string, now time.Time, loc *time.Location) (s, e time.Time, err error) {
	if s, err = timeArg("start", start, now, loc); err != nil {
		return
	}
	if e, err = timeArg("end", end, now, loc); err != nil {
		return
	}
	if !s.IsZero() && !e.IsZero() && s.After(e) {
		return s, e, badf("start %s is after end %s", fmtTime(s, loc), fmtTime(e, loc))
	}
	return s, e, nil
}

// durationArg reads a positive duration (90m, 36h, 7d, 1d12h).
func durationArg(name, s string) (time.Duration, error) {
	d, err := timeparse.Duration(strings.TrimSpace(s))
	if err != nil {
		return 0, badf("%s: %v", name, err)
	}
	return d, nil
}

// limitArg reads a limit: 0 is def, more than max is refused.
func limitArg(name string, n, def, max int) (int, error) {
	switch {
	case n == 0:
		return min(def, max), nil
	case n < 0:
		return 0, badf("%s must be at least 1, got %d", name, n)
	case n > max:
		return 0, badf("%s is at most %d, got %d; narrow the pattern or the range instead", name, max, n)
	}
	return n, nil
}

// fmtTime prints t in RFC 3339 with loc's offset ("" for the zero time).
func fmtTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(time.RFC3339Nano)
}

// ageText prints a duration compactly, as the tools read durations:
// whole days, then hours, minutes, seconds and milliseconds that are not
// zero ("7d", "1d12h", "5h26s", "1h", "250ms"); an age to the second.
func ageText(d time.Duration) string {
	if d < 0 {
		return "-" + ageText(-d)
	}
	if d >= time.Second {
		d = d.Round(time.Second)
	}
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.unit
		}
	}
	if b.Len() == 0 {
		return d.String()
	}
	return b.String()
}

// value is a stored value as a result carries it: whole when short, else
// a preview.
type value struct {
	Value   any    `json:"value,omitempty" jsonschema:"the stored JSON value (absent when too long: see value_preview)"`
	Preview string `json:"value_preview,omitempty" jsonschema:"the first bytes of a value too long to show whole, as text"`
	Bytes   int    `json:"value_bytes,omitempty" jsonschema:"the length in bytes of a value shown as value_preview"`
}

func (c config) value(raw json.RawMessage) value { return c.clipped(raw, len(raw)) }

// clipped is value for a value of n bytes of which raw holds the first
// (at least maxValue+1 when n is larger: see config.keep).
func (c config) clipped(raw json.RawMessage, n int) value {
	if n <= c.maxValue {
		return value{Value: json.RawMessage(raw)}
	}
	cut := min(c.maxValue, len(raw))
	for cut > 0 && cut < len(raw) && !utf8.RuneStart(raw[cut]) {
		cut--
	}
	return value{Preview: string(raw[:cut]) + "…", Bytes: n}
}
