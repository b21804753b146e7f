package main

import (
	"fmt"
	"strings"
	"testing"
)

// ingest's "at" and query's --start and --end read the same time forms,
// and both refuse a Unix number that looks like seconds. An "at" before the
// Unix epoch, the zero time of RFC 3339 too, is refused, not stored as now.
func TestTimeFormsIngestAndQuery(t *testing.T) {
	dir := t.TempDir()
	kolkata := []string{"TZ=Asia/Kolkata"} // +05:30 all year
	in := `{"name":"t::date","value":1,"at":"2026-11-25"}
{"name":"t::local","value":2,"at":"2026-11-25 08:00"}
{"name":"t::rfc","value":3,"at":"2026-11-25T08:00:00Z"}
{"name":"t::ms","value":4,"at":1795593600000}
{"name":"t::exp","value":5,"at":1.7955936e12}
{"name":"t::msstring","value":6,"at":"1795593600000"}
{"name":"t::seconds","value":7,"at":1795593600}
{"name":"t::fraction","value":8,"at":1.5}
{"name":"t::secondsstring","value":9,"at":"1795593600"}
{"name":"t::zero","value":10,"at":"0001-01-01T00:00:00Z"}
{"name":"t::before","value":11,"at":"1969-12-31"}
`
	r := runEnv(t, dir, in, kolkata, "ingest")
	if r.code != 1 || !strings.HasPrefix(r.stdout, "stored 6 rows from 11 lines") {
		t.Fatalf("ingest: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`line 7: "at" 1795593600: looks like seconds; multiply by 1000`,
		`line 8: "at" 1.5: not a whole number of Unix milliseconds`,
		`line 9: "at": bad time "1795593600": looks like seconds; multiply by 1000`,
		`line 10: "at" "0001-01-01T00:00:00Z" is before the Unix epoch (1970-01-01T00:00:00Z), the earliest time rechist stores`,
		`line 11: "at" "1969-12-31" is before the Unix epoch`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("ingest's stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	got := map[string]string{}
	for _, j := range parseJSONLines(t, runEnv(t, dir, "", kolkata, "query", "t::*", "--json", "--utc").stdout) {
		got[strings.TrimPrefix(j.Name, "t::")] = j.At
	}
	want := map[string]string{
		"date": "2026-11-24T18:30:00.000Z", "local": "2026-11-25T02:30:00.000Z", "rfc": "2026-11-25T08:00:00.000Z",
		"ms": "2026-11-25T08:00:00.000Z", "exp": "2026-11-25T08:00:00.000Z", "msstring": "2026-11-25T08:00:00.000Z",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ingest stored\n %v\nwant\n %v", got, want)
	}

	// Each form as both bounds selects exactly the rows at that time.
	for _, tc := range []struct{ at, names string }{
		{"2026-11-25", "t::date"},
		{"2026-11-25 08:00", "t::local"},
		{"2026-11-25T13:30:00+05:30", "t::exp t::ms t::msstring t::rfc"},
		{"1795593600000", "t::exp t::ms t::msstring t::rfc"},
		{"1.7955936e12", "t::exp t::ms t::msstring t::rfc"},
	} {
		r := runEnv(t, dir, "", kolkata, "query", "t::*", "--json", "--start", tc.at, "--end", tc.at)
		var names []string
		for _, j := range parseJSONLines(t, r.stdout) {
			names = append(names, j.Name)
		}
		if r.code != 0 || strings.Join(names, " ") != tc.names {
			t.Errorf("query --start %q --end %q: exit %d, %v (%s); want %s", tc.at, tc.at, r.code, names, r.stderr, tc.names)
		}
	}
	for _, args := range [][]string{
		{"query", "t::*", "--start", "1795593600"},
		{"query", "t::*", "--end", "1795593600"},
	} {
		r := runEnv(t, dir, "", kolkata, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "looks like seconds; multiply by 1000") {
			t.Errorf("rechist %q: exit %d, stderr %q; want exit 2, \"looks like seconds; multiply by 1000\"", args, r.code, r.stderr)
		}
	}
}
