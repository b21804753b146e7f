package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// backup writes a copy that opens as a database with the same rows, and
// reports the file it wrote.
//
// needs the library's DB.Backup and WithReadOnly
func TestBackup(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, ingestRows(100, 0), "ingest")
	out := ok(t, dir, "", "backup", "copy.db")
	if !regexp.MustCompile(`^backed up \./data/history\.db to copy\.db \(\d+\.\d KiB\) in \d+`).MatchString(out) {
		t.Errorf("backup printed %q", out)
	}
	want := ok(t, dir, "", "query", "*", "--json")
	if got := ok(t, dir, "", "--db", "copy.db", "query", "*", "--json"); got != want {
		t.Errorf("the copy holds\n%s\nwant\n%s", got, want)
	}
	// A directory that does not exist yet is created.
	ok(t, dir, "", "backup", filepath.Join("backups", "2026", "copy.db"))
	if got := ok(t, dir, "", "--db", filepath.Join("backups", "2026", "copy.db"), "query", "*", "--json"); got != want {
		t.Errorf("the copy in a new directory holds\n%s\nwant\n%s", got, want)
	}
}

// backup refuses, before it opens anything, a file that exists; with no
// database it creates nothing.
//
// The last case needs the library's WithReadOnly.
func TestBackupRefuses(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "old.db"), []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"backup", "old.db"}, "old.db already exists"},
	} {
		r := runCLI(t, dir, "", tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.says) {
			t.Errorf("rechist %q: exit %d, stderr %q; want exit 2 saying %q", tc.args, r.code, r.stderr, tc.says)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "old.db")); string(b) != "keep me" {
		t.Errorf("backup changed an existing file: %q", b)
	}
	r := runCLI(t, dir, "", "--db", "none.db", "backup", "b.db")
	if r.code != 1 || !strings.Contains(r.stderr, "none.db") {
		t.Errorf("backup of a missing database: exit %d, stderr %q; want exit 1 naming none.db", r.code, r.stderr)
	}
	for _, f := range []string{"none.db", "b.db"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("backup of a missing database created %s", f)
		}
	}
}

// ingestRows is n JSON Lines of about 1 KiB each, stored at 1000+i ms
// after from ms.
func ingestRows(n int, from int64) string {
	var b strings.Builder
	pad := strings.Repeat("x", 1000)
	for i := range n {
		fmt.Fprintf(&b, `{"name":"r::%d","value":{"i":%d,"pad":%q},"at":%d}`+"\n", i%10, i, pad, from+1000+int64(i))
	}
	return b.String()
}

// statsJSONOf runs stats --json and decodes it.
func statsJSONOf(t *testing.T, dir string, args ...string) statsJSON {
	t.Helper()
	var s statsJSON
	out := ok(t, dir, "", append([]string{"stats", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("stats --json: %v\n%s", err, out)
	}
	return s
}

// stats shows the free space; stats --json prints the summary.
func TestStatsFreeSpaceAndJSON(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, "", "migrate", "up")
	if s := statsJSONOf(t, dir); s.Rows != 0 || s.Oldest != nil || s.Newest != nil || s.Top == nil || len(s.Top) != 0 || s.FileBytes == 0 {
		t.Errorf("stats --json of an empty database: %+v", s)
	}
	ok(t, dir, ingestRows(30, 0), "ingest")
	s := statsJSONOf(t, dir, "--top", "2", "--utc")
	if s.Database != "./data/history.db" || s.Rows != 30 || s.Records != 10 || s.Oldest == nil || *s.Oldest != "1970-01-01T00:00:01.000Z" ||
		s.Newest == nil || *s.Newest != "1970-01-01T00:00:01.029Z" || len(s.Top) != 2 || s.Top[0].Rows != 3 {
		t.Errorf("stats --json: %+v", s)
	}
	if out := ok(t, dir, "", "stats"); !regexp.MustCompile(`(?m)^free space\s+\d+ B`).MatchString(out) {
		t.Errorf("stats does not show the free space:\n%s", out)
	}
}

// After a cleanup stats shows the free space; compact gives it back and
// says how much the file shrank.
//
// needs the library's DB.Compact and Summary.FreeBytes
func TestCompact(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, ingestRows(3000, 0), "ingest")
	ok(t, dir, `{"name":"keep","value":1}`+"\n", "ingest")
	ok(t, dir, "", "cleanup", "--older-than", "1d")
	before := statsJSONOf(t, dir)
	if before.Rows != 1 || before.FreeBytes < 2<<20 {
		t.Fatalf("after deleting 3000 rows of 1 KiB: %+v, want 1 row and over 2 MiB free", before)
	}
	if out := ok(t, dir, "", "stats"); !strings.Contains(out, "rechist compact gives it back") {
		t.Errorf("stats does not point to compact:\n%s", out)
	}
	out := ok(t, dir, "", "compact")
	m := regexp.MustCompile(`^compacted \./data/history\.db: file size (\S+ \S+) before \((\S+ \S+) of it free\), (\S+ \S+) after\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("compact printed %q", out)
	}
	after := statsJSONOf(t, dir)
	if after.Rows != 1 || after.FreeBytes != 0 || after.FileBytes > before.FileBytes-2<<20 {
		t.Errorf("after compact: %+v (before: %+v)", after, before)
	}
	if m[1] != bytesString(before.FileBytes) || m[3] != bytesString(after.FileBytes) {
		t.Errorf("compact says %s before and %s after; stats says %s and %s", m[1], m[3], bytesString(before.FileBytes), bytesString(after.FileBytes))
	}
}
