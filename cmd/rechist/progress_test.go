package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist/internal/testutil/syncbuf"
)

// The progress bar shows the rate once, in bytes or in rows.
func TestProgressShowsTheRateOnce(t *testing.T) {
	for _, tc := range []struct {
		total int64
		bytes bool
		rate  string
	}{
		{10 << 20, true, `[\d.]+ [kMG]?B/s`},
		{-1, true, `[\d.]+ [kMG]?B/s`},
		{10 << 20, false, `\d+ rows/s`},
	} {
		var out syncbuf.Buffer // a spinner draws on a goroutine of its own
		bar := newProgress(&env{stderr: &out, interactive: true}, tc.total, "ingest", tc.bytes)
		for range 3 {
			_ = bar.Add(1 << 20)
			time.Sleep(120 * time.Millisecond)
		}
		_ = bar.Exit()
		frames := strings.Split(out.String(), "\r")
		last := ""
		for _, f := range frames {
			if strings.Contains(f, "ingest") {
				last = f
			}
		}
		if n := len(regexp.MustCompile(`/s\b`).FindAllString(last, -1)); n != 1 || !regexp.MustCompile(tc.rate).MatchString(last) {
			t.Errorf("total %d, bytes %v: the bar shows %d rates, want one like %s: %q", tc.total, tc.bytes, n, tc.rate, last)
		}
	}
}
