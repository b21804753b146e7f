package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// RECHIST_DB sets the default of --db; --db wins over it; --help says so.
func TestRechistDBEnvironment(t *testing.T) {
	dir := t.TempDir()
	env := []string{"RECHIST_DB=from-env.db"}
	if r := runEnv(t, dir, `{"name":"a","value":1}`+"\n", env, "ingest"); r.code != 0 {
		t.Fatalf("ingest: exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "from-env.db")); err != nil {
		t.Fatalf("RECHIST_DB was not used: %v", err)
	}
	if r := runEnv(t, dir, "", env, "stats"); r.code != 0 || !strings.Contains(r.stdout, "from-env.db") {
		t.Errorf("stats with RECHIST_DB: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runEnv(t, dir, `{"name":"b","value":1}`+"\n", env, "--db", "flag.db", "ingest"); r.code != 0 {
		t.Fatalf("ingest --db: exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "flag.db")); err != nil {
		t.Fatalf("--db did not win over RECHIST_DB: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("the default database was created")
	}
	if help := ok(t, dir, "", "--help"); !strings.Contains(help, "RECHIST_DB") || !strings.Contains(help, "password") {
		t.Errorf("--help does not explain RECHIST_DB:\n%s", help)
	}
}
