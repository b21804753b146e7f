package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// sensorsInput is a small history in three records, times from
// 2023-11-14T22:13:20Z (1700000000000).
const sensorsInput = `{"name":"sensors.temp.a","value":{"c":1},"at":1700000000000}
{"name":"sensors.temp.a","value":{"c":3},"at":1700000600000}
{"name":"sensors.temp.a","value":{"c":5},"at":1700004200000}
{"name":"sensors.temp.a","value":{"c":"broken"},"at":1700004800000}
{"name":"sensors.temp.a.indoor","value":{"c":10},"at":1700000000000}
{"name":"sensors.temp","value":7,"at":1700000000000}
`

func TestRecords(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, sensorsInput, "ingest")
	table := ok(t, dir, "", "records", "--utc")
	want := `RECORD                 ROWS  FIRST                     LAST
sensors.temp           1     2023-11-14T22:13:20.000Z  2023-11-14T22:13:20.000Z
sensors.temp.a         4     2023-11-14T22:13:20.000Z  2023-11-14T23:33:20.000Z
sensors.temp.a.indoor  1     2023-11-14T22:13:20.000Z  2023-11-14T22:13:20.000Z
`
	if table != want {
		t.Fatalf("records:\n%s\nwant\n%s", table, want)
	}
	var lines []recordInfoLine
	for _, l := range strings.Split(strings.TrimSpace(ok(t, dir, "", "records", "sensors.temp.a*", "--json", "--utc")), "\n") {
		var r recordInfoLine
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("records --json line %q: %v", l, err)
		}
		lines = append(lines, r)
	}
	if len(lines) != 2 || lines[0] != (recordInfoLine{"sensors.temp.a", 4, "2023-11-14T22:13:20.000Z", "2023-11-14T23:33:20.000Z"}) {
		t.Fatalf("records --json: %+v", lines)
	}
	rows, err := csv.NewReader(strings.NewReader(ok(t, dir, "", "records", "sensors.temp", "--csv"))).ReadAll()
	if err != nil || len(rows) != 2 || strings.Join(rows[0], ",") != "record,rows,first,last" || rows[1][1] != "1" {
		t.Fatalf("records --csv: %q, %v", rows, err)
	}
	r := runCLI(t, dir, "", "records", "nothing::*")
	if r.code != 0 || r.stdout != "RECORD  ROWS  FIRST  LAST\n" || !strings.Contains(r.stderr, `no records match "nothing::*"`) {
		t.Fatalf("records of nothing: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// --topics reads every command's pattern as an AimDB topic pattern.
func TestTopics(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, sensorsInput, "ingest")
	names := func(out string) string {
		var s []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			s = append(s, strings.Fields(l)[0])
		}
		return strings.Join(s, " ")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"records", "sensors.temp.*"}, "sensors.temp.a sensors.temp.a.indoor"},
		{[]string{"records", "sensors.temp.*", "--topics"}, "sensors.temp.a"},
		{[]string{"records", "sensors.#", "--topics"}, "sensors.temp sensors.temp.a sensors.temp.a.indoor"},
		{[]string{"records", "sensors.#"}, ""},
		{[]string{"latest", "*.temp.*", "--topics"}, "sensors.temp.a"},
		{[]string{"query", "sensors.*.a.#", "--topics"}, "sensors.temp.a sensors.temp.a sensors.temp.a sensors.temp.a sensors.temp.a.indoor"},
		{[]string{"agg", "sensors.*.a", "--topics", "--field", "c", "--every", "1d"}, "sensors.temp.a"},
	} {
		if got := names(runCLI(t, dir, "", tc.args...).stdout); got != tc.want {
			t.Errorf("rechist %q shows %q, want %q", tc.args, got, tc.want)
		}
	}
	// A '*' inside a segment stands for itself: an empty answer says so.
	for _, args := range [][]string{{"latest", "sensors.te*"}, {"query", "sensors.te*"}, {"records", "sensors.te*"},
		{"agg", "sensors.te*", "--every", "1d"}} {
		r := runCLI(t, dir, "", append(args, "--topics")...)
		if r.code != 0 || !strings.Contains(r.stderr, `* matches a whole dot-separated segment and stands for itself inside one, as in "te*"`) {
			t.Errorf("rechist %q --topics: exit %d, stderr %q; want the note on '*' inside a segment", args, r.code, r.stderr)
		}
	}
	if out := ok(t, dir, "", "delete", "sensors.temp.*", "--topics"); !strings.HasPrefix(out, "would delete 4 rows of 1 record;") {
		t.Errorf("delete --topics: %s", out)
	}
	if out := ok(t, dir, "", "delete", "sensors.temp.*", "--topics", "--yes"); out != "deleted 4 rows of 1 record\n" {
		t.Errorf("delete --topics --yes: %s", out)
	}
	if got := names(ok(t, dir, "", "records")); got != "sensors.temp sensors.temp.a.indoor" {
		t.Errorf("after delete --topics: %s", got)
	}
}

func TestAgg(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, sensorsInput, "ingest")
	table := ok(t, dir, "", "agg", "sensors.temp.a", "--field", "c", "--every", "1h", "--utc")
	want := `RECORD          BUCKET                    COUNT  MIN  MEAN  MAX  LAST
sensors.temp.a  2023-11-14T22:00:00.000Z  2      1    2     3    3
sensors.temp.a  2023-11-14T23:00:00.000Z  1      5    5     5    5
`
	if table != want {
		t.Fatalf("agg:\n%s\nwant\n%s", table, want)
	}
	var b bucketLine
	js := ok(t, dir, "", "agg", "sensors.temp.a", "--field", "c", "--every", "1d", "--json", "--utc", "--end", "1700000600000")
	if err := json.Unmarshal([]byte(js), &b); err != nil {
		t.Fatalf("agg --json %q: %v", js, err)
	}
	if b != (bucketLine{"sensors.temp.a", "2023-11-14T00:00:00.000Z", 2, 1, 2, 3, 4, 1, 3, ""}) {
		t.Fatalf("agg --json: %+v", b)
	}
	// No --field: the value itself; records without numbers are left out.
	rows, err := csv.NewReader(strings.NewReader(ok(t, dir, "", "agg", "sensors.*", "--every", "90m", "--csv", "--utc"))).ReadAll()
	if err != nil || len(rows) != 2 || strings.Join(rows[0], ",") != "record,start,count,min,mean,max,sum,first,last" ||
		strings.Join(rows[1], ",") != "sensors.temp,2023-11-14T21:00:00.000Z,1,7,7,7,7,7,7" {
		t.Fatalf("agg --csv: %q, %v", rows, err)
	}
	r := runCLI(t, dir, "", "agg", "sensors.*", "--field", "nope", "--every", "1h")
	if r.code != 0 || !strings.Contains(r.stderr, `no numbers match "sensors.*" in field "nope"`) {
		t.Fatalf("agg of a missing field: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := short(2.0 / 3); got != "0.666667" {
		t.Errorf("short(2/3) = %s", got)
	}
	if got := short(1795593600000); got != "1795593600000" {
		t.Errorf("short(1795593600000) = %s", got)
	}
}

func TestDelete(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, sensorsInput, "ingest")
	all := ok(t, dir, "", "query", "*", "--json")
	// Without --yes: a count, and the file unchanged.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sensors.temp.a*"}, "would delete 5 rows of 2 records; run again with --yes to delete them\n"},
		{[]string{"sensors.temp.a", "--start", "1700000600000", "--utc"}, "would delete 3 rows of 1 record stored at or after 2023-11-14T22:23:20.000Z; run again with --yes to delete them\n"},
		{[]string{"*", "--end", "1700000000000", "--utc"}, "would delete 3 rows of 3 records stored at or before 2023-11-14T22:13:20.000Z; run again with --yes to delete them\n"},
		{[]string{"*", "--since", "1h"}, `nothing to delete: no rows of records matching "*" stored at or after `},
		{[]string{"nothing"}, "nothing to delete: no rows of records matching \"nothing\"\n"},
	} {
		if out := ok(t, dir, "", append([]string{"delete"}, tc.args...)...); !strings.HasPrefix(out, tc.want) {
			t.Errorf("rechist delete %q:\n%s\nwant\n%s", tc.args, out, tc.want)
		}
	}
	if now := ok(t, dir, "", "query", "*", "--json"); now != all {
		t.Fatalf("delete without --yes changed the data:\n%s", now)
	}
	out := ok(t, dir, "", "delete", "sensors.temp.a", "--start", "1700000600000", "--end", "1700004200000", "--yes", "--utc")
	if out != "deleted 2 rows of 1 record stored from 2023-11-14T22:23:20.000Z to 2023-11-14T23:23:20.000Z\n" {
		t.Fatalf("delete --yes: %q", out)
	}
	var left []string
	for _, j := range parseJSONLines(t, ok(t, dir, "", "query", "sensors.temp.a", "--json")) {
		left = append(left, string(j.Value))
	}
	if strings.Join(left, " ") != `{"c":"broken"} {"c":1}` {
		t.Fatalf("left after delete: %s", left)
	}
	if out := ok(t, dir, "", "delete", "*", "--yes"); out != "deleted 4 rows of 3 records\n" {
		t.Fatalf("delete '*' --yes: %q", out)
	}
	if out := ok(t, dir, "", "records"); out != "RECORD  ROWS  FIRST  LAST\n" {
		t.Fatalf("records after deleting everything:\n%s", out)
	}
	// --yes on a file that is not there creates nothing.
	r := runCLI(t, dir, "", "--db", "sub/none.db", "delete", "*", "--yes")
	if r.code != 1 || !strings.Contains(r.stderr, "sub/none.db does not exist") {
		t.Errorf("delete --yes on a missing file: exit %d, %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub")); err == nil {
		t.Error("delete --yes created the missing file's directory")
	}
}

// A table longer than one chunk is aligned per chunk, and a column never
// narrows; JSON Lines and CSV stream every row.
func TestLongTable(t *testing.T) {
	var b strings.Builder
	tw := bufio.NewWriter(&b)
	tb := newTable(tw, "A", "B")
	for i := range 2*tableChunk + 10 {
		name := "x"
		if i == tableChunk+5 {
			name = "a-much-longer-name"
		}
		if err := tb.add(name, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2*tableChunk+11 {
		t.Fatalf("%d lines", len(lines))
	}
	for i, want := range map[int]string{0: "A  B", 1: "x  0", tableChunk - 1: "x  998",
		tableChunk: "x                   999", tableChunk + 6: "a-much-longer-name  1005",
		2 * tableChunk: "x                   1999", 2*tableChunk + 10: "x                   2009"} {
		if lines[i] != want {
			t.Errorf("line %d: %q, want %q", i, lines[i], want)
		}
	}

	dir := t.TempDir()
	var in strings.Builder
	for i := range 2500 {
		fmt.Fprintf(&in, `{"name":"r%d","value":%d,"at":%d}`+"\n", i%3, i, 1700000000000+i)
	}
	ok(t, dir, in.String(), "ingest")
	table := ok(t, dir, "", "query", "*")
	if n := strings.Count(table, "\n"); n != 2501 {
		t.Errorf("table: %d lines", n)
	}
	if !regexp.MustCompile(`^RECORD  TIME {22}VALUE\nr0      \S+  2499\n`).MatchString(table) {
		t.Errorf("table starts:\n%s", table[:200])
	}
	if n := len(parseJSONLines(t, ok(t, dir, "", "query", "*", "--json"))); n != 2500 {
		t.Errorf("--json: %d rows", n)
	}
	if n := strings.Count(ok(t, dir, "", "query", "*", "--csv"), "\n"); n != 2501 {
		t.Errorf("--csv: %d lines", n)
	}
}

// On a server, records, agg, delete and --topics work as on a file, and
// delete without --yes changes nothing.
func TestPostgresRecordsAggDelete(t *testing.T) {
	base := postgresServer(t)
	dir := t.TempDir()
	u := postgresSchema(t, base, fmt.Sprintf("cli_rad_%d", os.Getpid()))
	ok(t, dir, sensorsInput, "--db", u, "ingest")
	if out := ok(t, dir, "", "--db", u, "records", "sensors.#", "--topics", "--utc"); !strings.Contains(out, "sensors.temp.a         4     2023-11-14T22:13:20.000Z  2023-11-14T23:33:20.000Z\n") ||
		strings.Count(out, "\n") != 4 {
		t.Fatalf("records --topics:\n%s", out)
	}
	if out := ok(t, dir, "", "--db", u, "agg", "sensors.temp.a", "--field", "c", "--every", "1h", "--utc"); !strings.Contains(out, "sensors.temp.a  2023-11-14T22:00:00.000Z  2      1    2     3    3\n") {
		t.Fatalf("agg:\n%s", out)
	}
	if out := ok(t, dir, "", "--db", u, "delete", "sensors.temp.*", "--topics", "--start", "1700000600000"); !strings.HasPrefix(out, "would delete 3 rows of 1 record stored at or after ") {
		t.Fatalf("delete: %s", out)
	}
	if n := len(parseJSONLines(t, ok(t, dir, "", "--db", u, "query", "*", "--json"))); n != 6 {
		t.Fatalf("delete without --yes left %d rows of 6", n)
	}
	if out := ok(t, dir, "", "--db", u, "delete", "sensors.temp.*", "--topics", "--start", "1700000600000", "--yes"); !strings.HasPrefix(out, "deleted 3 rows of 1 record stored at or after ") {
		t.Fatalf("delete --yes: %s", out)
	}
	if n := len(parseJSONLines(t, ok(t, dir, "", "--db", u, "query", "*", "--json"))); n != 3 {
		t.Fatalf("delete --yes left %d rows, want 3", n)
	}
}

// agg --tz aligns the buckets to a zone's wall clock and prints their
// times there (--utc still prints UTC); a zone that does not exist is bad
// usage. Default: UTC, as before.
func TestAggInATimeZone(t *testing.T) {
	dir := t.TempDir()
	var in strings.Builder
	for h := range 48 { // hourly from 2026-12-04 00:00 UTC
		fmt.Fprintf(&in, `{"name":"z","value":%d,"at":%d}`+"\n", h, 1796342400000+int64(h)*3600000)
	}
	ok(t, dir, in.String(), "ingest")
	utc := parseJSONLines(t, ok(t, dir, "", "agg", "z", "--every", "1d", "--json", "--utc"))
	ny := ok(t, dir, "", "agg", "z", "--every", "1d", "--tz", "America/New_York", "--csv")
	if len(utc) != 2 || !strings.Contains(ny, ",2026-12-03T00:00:00.000-05:00,5,") || !strings.Contains(ny, ",2026-12-04T00:00:00.000-05:00,24,") ||
		!strings.Contains(ny, ",2026-12-05T00:00:00.000-05:00,19,") {
		t.Errorf("agg --every 1d in UTC: %d buckets; in New York:\n%s\nwant New York's days of 5, 24 and 19 rows", len(utc), ny)
	}
	if out := ok(t, dir, "", "agg", "z", "--every", "1d", "--tz", "Asia/Kathmandu", "--utc", "--csv"); !strings.Contains(out, ",2026-12-03T18:15:00.000Z,") {
		t.Errorf("agg --tz Asia/Kathmandu --utc: days start at 18:15 UTC, got\n%s", out)
	}
	if r := runCLI(t, dir, "", "agg", "z", "--every", "1d", "--tz", "Nowhere/Land"); r.code != 2 || !strings.Contains(r.stderr, "--tz") {
		t.Errorf("agg --tz Nowhere/Land: exit %d, %s", r.code, r.stderr)
	}
}
