package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Once retention has deleted the raw rows, agg answers from the rollup
// tier and says so: a "tier" field in --json, a note on stderr otherwise.
func TestAggSaysWhichDataServed(t *testing.T) {
	dir := t.TempDir()
	base := time.Now().Add(-48 * time.Hour).Truncate(time.Hour)
	var in strings.Builder
	for i := range 120 {
		fmt.Fprintf(&in, "{\"name\":\"s::a\",\"value\":{\"c\":%d},\"at\":%d}\n", i, base.Add(time.Duration(i)*time.Minute).UnixMilli())
	}
	ok(t, dir, in.String(), "ingest")
	ok(t, dir, "", "retention", "set", "s::*", "--raw", "1d", "--tier", "1h:forever", "--yes")
	if out := ok(t, dir, "", "cleanup"); out != "deleted 120 rows (retention policies)\n" {
		t.Fatalf("cleanup: %q", out)
	}
	// The record is still listed (its history is in its tier), and the
	// retention list shows what the tier holds.
	if out := ok(t, dir, "", "records", "s::*"); !strings.Contains(out, "s::a") {
		t.Errorf("records after cleanup:\n%s", out)
	}
	if out := ok(t, dir, "", "retention"); !regexp.MustCompile(`(?m)^s::\*\s+1d\s+1\s+0\s+0 B\s+1h:forever \d+ B$`).MatchString(out) {
		t.Errorf("retention list: want s::* with 1 record, 0 rows and its tier's bytes:\n%s", out)
	}
	start := fmt.Sprint(base.UnixMilli())
	js := ok(t, dir, "", "agg", "s::a", "--field", "c", "--every", "1h", "--json", "--start", start)
	var lines []bucketLine
	for l := range strings.SplitSeq(strings.TrimSpace(js), "\n") {
		var b bucketLine
		if err := json.Unmarshal([]byte(l), &b); err != nil {
			t.Fatalf("agg --json line %q: %v", l, err)
		}
		lines = append(lines, b)
	}
	if len(lines) != 2 || lines[0].Count != 60 || lines[0].Sum != 1770 || lines[1].Sum != 5370 || lines[0].Tier != "1h0m0s" {
		t.Fatalf("agg --json from the tier: %+v", lines)
	}
	r := runCLI(t, dir, "", "agg", "s::a", "--field", "c", "--every", "1h", "--start", start)
	if r.code != 0 || !strings.Contains(r.stderr, "s::a: whole 1h0m0s buckets from its rollup tier") {
		t.Fatalf("agg: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, dir, "", "agg", "s::a", "--field", "c", "--every", "90s", "--start", start)
	if r.code == 0 || !strings.Contains(r.stderr, "every must be a multiple of 1h") {
		t.Fatalf("agg every 90s over deleted raw rows: exit %d, stderr %q", r.code, r.stderr)
	}
}
