package main

import (
	"database/sql"
	"math"
	"os"
	"path/filepath"
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

// --json output is always ingest input: a time after year 9999 (a file from
// another program can hold any int64 millisecond) prints as Unix
// milliseconds, which ingest reads, and the rows come back the same.
func TestJSONTimesAfterYear9999RoundTrip(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src.db"), filepath.Join(dir, "dst.db")
	ok(t, dir, "", "--db", src, "migrate", "up")
	db, err := sql.Open("sqlite", src)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []struct {
		name string
		at   int64
	}{
		{"max", math.MaxInt64},
		{"y10000", 253402300800000},   // 10000-01-01T00:00:00Z
		{"late9999", 253402286400000}, // 9999-12-31T20:00:00Z: year 10000 at +05:30
		{"y9999", 253402300799999},    // 9999-12-31T23:59:59.999Z
		{"now", 1764060000000},
	} {
		if _, err := db.Exec(`INSERT INTO record_history (record_name, value_json, stored_at) VALUES (?, '{"v":1}', ?)`, row.name, row.at); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	kolkata := []string{"TZ=Asia/Kolkata"}
	for _, args := range [][]string{{"latest", "*"}, {"query", "*"}, {"latest", "*", "--utc"}} {
		r := runEnv(t, dir, "", kolkata, append([]string{"--db", src}, append(args, "--json")...)...)
		if r.code != 0 {
			t.Fatalf("rechist %q: exit %d\n%s", args, r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, `"at":9223372036854775807`) || strings.Contains(r.stdout, "292278994") {
			t.Errorf("rechist %q --json prints the last int64 millisecond so:\n%s", args, r.stdout)
		}
		os.Remove(dst)
		if in := runEnv(t, dir, r.stdout, kolkata, "--db", dst, "ingest"); in.code != 0 {
			t.Fatalf("ingest of rechist %q --json: exit %d\n%s%s\ninput:\n%s", args, in.code, in.stdout, in.stderr, r.stdout)
		}
		back := runEnv(t, dir, "", kolkata, append([]string{"--db", dst}, append(args, "--json")...)...)
		if back.code != 0 || back.stdout != r.stdout {
			t.Errorf("rechist %q --json after a round trip through ingest:\n%s\nwant\n%s", args, back.stdout, r.stdout)
		}
	}
}
