package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// --metrics-records bounds the records /metrics gives series of their
// own: the N with the most rows (here 2 of 7); 0 gives none, and a
// negative N is a usage error (exit 2) before anything opens. The totals
// cover every record either way.
func TestServeMetricsRecords(t *testing.T) {
	dir := t.TempDir()
	if r := runCLI(t, dir, "", "serve", "--addr", "127.0.0.1:0", "--metrics-records", "-1"); r.code != 2 || !strings.Contains(r.stderr, "--metrics-records") {
		t.Errorf("serve --metrics-records -1: exit %d, %s; want 2 naming the flag", r.code, r.stderr)
	}
	var in strings.Builder
	for i := range 7 {
		for j := 0; j <= i; j++ { // record r.i holds i+1 rows
			fmt.Fprintf(&in, `{"name":"r.%d","value":%d}`+"\n", i, j)
		}
	}
	if r := runCLI(t, dir, in.String(), "ingest"); r.code != 0 {
		t.Fatalf("ingest: exit %d, %s", r.code, r.stderr)
	}
	for _, tc := range []struct {
		n    string
		want []string
	}{{"2", []string{"r.5", "r.6"}}, {"0", nil}} {
		url := startServe(t, dir, nil, "--metrics-records", tc.n)
		code, body := get(t, url+"/metrics")
		if code != 200 || !strings.Contains(body, "rechist_stored_rows 28\n") || !strings.Contains(body, "rechist_stored_records 7\n") {
			t.Fatalf("--metrics-records %s: /metrics %d, totals missing in:\n%.3000s", tc.n, code, body)
		}
		var got []string
		for _, line := range strings.Split(body, "\n") {
			if name, ok := strings.CutPrefix(line, `rechist_record_rows{record="`); ok {
				got = append(got, name[:strings.IndexByte(name, '"')])
			}
		}
		slices.Sort(got)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("--metrics-records %s: series of %v, want %v", tc.n, got, tc.want)
		}
	}
}
