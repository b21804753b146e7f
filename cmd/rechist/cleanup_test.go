package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// A cleanup whose arguments cannot work fails before it touches the
// database and prints nothing but the error; one that works prints only
// its outcome.
func TestCleanupChecksArgumentsFirst(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ olderThan, says string }{
		{"100000d", "before 1970-01-01"},
		{"106752d", "at most 106751d"},
		{"106751d24h", "at most 106751d"},
		{"4000000000d", "at most 106751d"},
	} {
		r := runCLI(t, dir, "", "cleanup", "--older-than", tc.olderThan)
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, tc.says) {
			t.Errorf("cleanup --older-than %s: exit %d, stdout %q, stderr %q; want exit 2, no output, saying %q",
				tc.olderThan, r.code, r.stdout, r.stderr, tc.says)
		}
		if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
			t.Fatalf("cleanup --older-than %s opened the database", tc.olderThan)
		}
	}
	ok(t, dir, `{"name":"old","value":1,"at":1000}`+"\n", "ingest")
	if out := ok(t, dir, "", "cleanup", "--older-than", "365d"); !strings.HasPrefix(out, "deleted 1 row stored before ") {
		t.Errorf("cleanup of one row: %q", out)
	}
}

// Without --older-than, cleanup applies the retention policies (none
// stored: nothing goes, and it says so); with it, every record loses its
// old rows, whatever its policy.
func TestCleanupPoliciesOrOlderThan(t *testing.T) {
	dir := t.TempDir()
	seedRetention(t, retentionDB(dir))
	r := runCLI(t, dir, "", "cleanup")
	if r.code != 0 || r.stdout != "deleted 0 rows (retention policies)\n" || !strings.Contains(r.stderr, "no retention policies") {
		t.Fatalf("cleanup without policies: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if _, rows := retentionState(t, retentionDB(dir)); rows != seededRows {
		t.Fatalf("after cleanup without policies: rows %q, want %q", rows, seededRows)
	}
	dir = t.TempDir()
	seedRetention(t, retentionDB(dir), rechist.Policy{Pattern: "sensors::*", Raw: 0}, rechist.Policy{Pattern: "other", Raw: 30 * 24 * time.Hour})
	if out := ok(t, dir, "", "cleanup", "--older-than", "1d"); !strings.HasPrefix(out, "deleted 3 rows stored before ") || strings.Count(out, "\n") != 1 {
		t.Fatalf("cleanup --older-than 1d: %q", out)
	}
	if _, rows := retentionState(t, retentionDB(dir)); rows != "other=1;sensors::a=2;sensors::b=1;" {
		t.Fatalf("after cleanup --older-than 1d: rows %q; want every 10-day-old row gone", rows)
	}
}
