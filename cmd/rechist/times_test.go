package main

import (
	"regexp"
	"strings"
	"testing"
)

// Every command that prints times prints them one way, RFC 3339 with
// milliseconds, in the local zone or, with --utc, in UTC.
func TestTimesOneFormatAndUTC(t *testing.T) {
	dir := t.TempDir()
	kolkata := []string{"TZ=Asia/Kolkata"} // +05:30 all year
	local := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+05:30`)
	utc := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`)
	anyTime := regexp.MustCompile(`\d{4}-\d\d-\d\d[T ]\d\d:\d\d`)
	for _, args := range [][]string{
		{"demo", "--days", "1", "--cities", "2", "--interval", "1h"},
		{"latest", "*"},
		{"query", "*", "--since", "2h"},
		{"stats"},
		{"records"},
		{"agg", "temperature::*", "--field", "celsius", "--every", "6h"},
		{"delete", "*", "--since", "2h"},
		{"migrate", "status"},
		{"cleanup", "--older-than", "1d"},
	} {
		for _, tc := range []struct {
			flags []string
			want  *regexp.Regexp
		}{{nil, local}, {[]string{"--utc"}, utc}} {
			r := runEnv(t, dir, "", kolkata, append(args, tc.flags...)...)
			if r.code != 0 {
				t.Fatalf("rechist %q: exit %d\n%s", append(args, tc.flags...), r.code, r.stderr)
			}
			all := anyTime.FindAllStringIndex(r.stdout, -1)
			good := tc.want.FindAllStringIndex(r.stdout, -1)
			if len(all) == 0 || len(good) != len(all) {
				t.Errorf("rechist %q: %d times, %d of them as %s:\n%s", append(args, tc.flags...), len(all), len(good), tc.want, r.stdout)
			}
		}
	}
	if out := ok(t, dir, "", "stats"); strings.Contains(out, " -\n") {
		t.Errorf("stats of a filled database shows an empty time:\n%s", out)
	}
}
