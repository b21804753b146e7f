package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/seed178a96f3/rechist"
)

// patternHelp is the help of every PATTERN argument.
const patternHelp = "Record names to match: * matches any run of characters, everything else is literal (with --topics, a topic pattern)."

// topicFlag is embedded by every command that takes a pattern.
type topicFlag struct {
	Topics bool `name:"topics" help:"Read PATTERN as an AimDB topic pattern: dot-separated segments, * matches one segment, # zero or more (sensors.#, temp.*.indoor)."`
}

// options are the Open options the flag asks for.
func (f topicFlag) options() []rechist.Option {
	if f.Topics {
		return []rechist.Option{rechist.WithTopicPatterns()}
	}
	return nil
}

// literalStarNote explains why a topic pattern with '*' inside a segment
// ("accuracy::*") matched nothing: that '*' is a literal character. ""
// for any other pattern.
func (f topicFlag) literalStarNote(pattern string) string {
	if !f.Topics {
		return ""
	}
	for _, seg := range strings.Split(pattern, ".") {
		if seg != "*" && strings.Contains(seg, "*") {
			return fmt.Sprintf(" (with --topics, * matches a whole dot-separated segment and stands for itself inside one, as in %q; without --topics, * matches any run of characters)", seg)
		}
	}
	return ""
}

// rangeFlags bound the rows a command reads or deletes by time.
type rangeFlags struct {
	Since duration `xor:"start" placeholder:"DURATION" help:"Only rows from this long ago until now (90m, 36h, 7d)."`
	Start *timeArg `xor:"start" placeholder:"TIME" help:"Only rows at or after TIME: RFC 3339, a local '2026-11-25 08:00', a local date, or Unix milliseconds."`
	End   *timeArg `placeholder:"TIME" help:"Only rows at or before TIME."`
}

// bounds returns the range the flags give (zero times are unbounded),
// checked as the library checks it.
func (f rangeFlags) bounds() (start, end time.Time, err error) {
	start, end = f.Start.Time(), f.End.Time()
	if f.Since > 0 {
		start = time.Now().Add(-time.Duration(f.Since))
	}
	return start, end, checkRange(start, end)
}

// describe says which rows the range selects, for messages: "",
// " stored at or after T", " stored at or before T", " stored from T to T".
func (f rangeFlags) describe(start, end time.Time, tf timeFlags) string {
	switch {
	case start.IsZero() && end.IsZero():
		return ""
	case end.IsZero():
		return " stored at or after " + tf.format(start)
	case start.IsZero():
		return " stored at or before " + tf.format(end)
	}
	return " stored from " + tf.format(start) + " to " + tf.format(end)
}

// formatFlags choose how a command that prints rows other than records'
// values prints them.
type formatFlags struct {
	JSON      bool `name:"json" xor:"format" help:"Print JSON Lines, one object per row."`
	CSV       bool `name:"csv" xor:"format" help:"Print CSV with a header."`
	timeFlags `embed:""`
}
