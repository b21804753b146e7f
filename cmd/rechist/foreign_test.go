package main

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A SQLite file of another program (tables, no record_history): reading
// commands say it is not a rechist history, writing ones refuse it and
// leave it byte for byte as it was (before, ingest added rechist's tables
// and switched it to WAL mode), and --init adopts it.
func TestAnotherProgramsFileIsRefusedUnlessInit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.db")
	conn, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada')`); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line := `{"name":"a","value":1}` + "\n"
	for _, args := range [][]string{{"stats"}, {"records"}, {"latest", "*"}, {"ingest"}, {"cleanup", "--older-than", "1d"}, {"demo", "--days", "1"}} {
		r := runCLI(t, dir, line, append([]string{"--db", "app.db"}, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, "not a rechist history") || !strings.Contains(r.stderr, "users") {
			t.Errorf("rechist %q on another program's file: exit %d, stderr %q; want 2 saying it is not a rechist history", args, r.code, r.stderr)
		}
	}
	if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, before) {
		t.Fatalf("the refused commands changed the file (%v)", err)
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		t.Errorf("the refused commands left a WAL")
	}
	ok(t, dir, line, "--db", "app.db", "--init", "ingest")
	if out := ok(t, dir, "", "--db", "app.db", "records"); !strings.Contains(out, "a ") {
		t.Errorf("records after --init ingest: %q", out)
	}
	ok(t, dir, line, "--db", "app.db", "ingest") // a history now
}
