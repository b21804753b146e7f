package main

import (
	"strings"
	"testing"
)

// demo on an existing smaller demo file honours --days and --cities: the
// new cities get the whole span, the old ones the days before their
// oldest row. Before, it wrote nothing and exited 0.
func TestDemoTopsUpToMoreDaysAndCities(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, "", "--db", "d.db", "demo", "--days", "1", "--cities", "2", "--interval", "10m")
	out := ok(t, dir, "", "--db", "d.db", "demo", "--days", "2", "--cities", "3", "--interval", "10m")
	if !strings.HasPrefix(out, "writing ") || strings.HasPrefix(out, "writing 0 rows") {
		t.Fatalf("the second demo: %s", out)
	}
	got := parseJSONLines(t, ok(t, dir, "", "--db", "d.db", "records", "--json"))
	if len(got) != 6 {
		t.Fatalf("records after demo --cities 3: %d, want 6", len(got))
	}
	recs := ok(t, dir, "", "--db", "d.db", "records", "--csv")
	for _, line := range strings.Split(strings.TrimSpace(recs), "\n")[1:] {
		f := strings.Split(line, ",")
		if f[1] != "288" && f[1] != "289" { // 2 days of 10 minutes, one more if a step began between the runs
			t.Errorf("record %s has %s rows after demo --days 2 --interval 10m, want 288", f[0], f[1])
		}
	}
}
