package timeparse

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var localLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
}

// Forms is what Time reads, for error messages and help.
const Forms = "RFC 3339 (2026-11-25T08:00:00Z), a local date and time (2026-11-25 08:00), a local date (2026-11-25) or Unix milliseconds (1795593600000)"

// Time reads a point in time: RFC 3339, a local date and time, a local
// date (in time.Local), or Unix milliseconds (see [Millis]). It does not
// refuse times before the Unix epoch: each caller says so in its own terms.
func Time(s string) (time.Time, error) {
	if jsonNumber.MatchString(s) {
		t, err := Millis(s)
		if err != nil {
			return time.Time{}, &invalid{fmt.Sprintf("bad time %q: %v", s, err)}
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
	return time.Time{}, &invalid{fmt.Sprintf("bad time %q: want %s", s, Forms)}
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

// Millis reads Unix milliseconds written as a JSON number: 1795593600000,
// or with a fraction or an exponent (1.7955936e12) as long as the value is
// whole. A number that reads as a date from 2000 to 2100 in seconds is
// refused: it is almost surely seconds. Its errors do not repeat s.
func Millis(s string) (time.Time, error) {
	// The common case, whole digits, without the regexp and big.Rat.
	if d := strings.TrimPrefix(s, "-"); d != "" && d[0] != '+' && (d[0] != '0' || len(d) == 1) {
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
			return fromMillis(ms)
		}
	}
	if !jsonNumber.MatchString(s) {
		return time.Time{}, &invalid{"not a number"}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return time.Time{}, &invalid{"not a number"}
	}
	if !r.IsInt() {
		return time.Time{}, &invalid{"not a whole number of Unix milliseconds"}
	}
	if !r.Num().IsInt64() {
		return time.Time{}, &invalid{"out of the range of Unix milliseconds"}
	}
	return fromMillis(r.Num().Int64())
}

// fromMillis is the time ms Unix milliseconds, unless ms looks like seconds.
func fromMillis(ms int64) (time.Time, error) {
	if ms >= secondsFrom && ms < secondsTo {
		return time.Time{}, &invalid{"looks like seconds; multiply by 1000 (rechist reads Unix milliseconds)"}
	}
	return time.UnixMilli(ms), nil
}
