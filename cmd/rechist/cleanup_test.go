package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
