package main

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// The reading commands on a file that does not exist: exit status 1, a
// message that names the path, and nothing created.
//
// needs the library's WithReadOnly (migrate status passes already)
func TestReadingCommandsCreateNothing(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join("sub", "none.db")
	for _, args := range [][]string{
		{"latest", "*"},
		{"query", "*", "--since", "1h"},
		{"stats"},
		{"migrate", "status"},
		{"records"},
		{"agg", "*", "--every", "1h"},
		{"delete", "*"},
	} {
		r := runCLI(t, dir, "", append([]string{"--db", db}, args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, db) {
			t.Errorf("rechist %q on a missing file: exit %d, stderr %q; want exit 1 naming %s", args, r.code, r.stderr, db)
		}
		if _, err := os.Stat(filepath.Join(dir, "sub")); err == nil {
			t.Fatalf("rechist %q created %s", args, filepath.Join(dir, "sub"))
		}
	}
}

// rustFile makes a database as the Rust crate does: its table and index,
// rollback journal, no goose version table, and one row.
func rustFile(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE record_history (id INTEGER PRIMARY KEY AUTOINCREMENT, record_name TEXT NOT NULL, value_json TEXT NOT NULL, stored_at INTEGER NOT NULL)`,
		`CREATE INDEX idx_record_time ON record_history (record_name, stored_at DESC)`,
		`INSERT INTO record_history (record_name, value_json, stored_at) VALUES ('rust::a', '{"v":1}', 1764060000000)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

// The reading commands leave a file the Rust crate made as it was: no
// migration, no goose table, no switch to WAL, not a byte changed.
//
// needs the library's WithReadOnly and read-only MigrationStatus
func TestReadingCommandsChangeNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rust.db")
	rustFile(t, path)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"latest", "*"},
		{"query", "rust::*", "--json"},
		{"stats"},
		{"migrate", "status"},
		{"records"},
		{"agg", "rust::*", "--field", "v", "--every", "1h"},
		{"delete", "rust::*", "--since", "1h"},
		{"delete", "*"},
	} {
		r := runCLI(t, dir, "", append([]string{"--db", path}, args...)...)
		if r.code != 0 {
			t.Errorf("rechist %q: exit %d, stderr %q", args, r.code, r.stderr)
		}
		if (args[0] == "latest" || args[0] == "records" || args[0] == "agg") && !strings.Contains(r.stdout, "rust::a") {
			t.Errorf("latest does not show the Rust crate's row:\n%s", r.stdout)
		}
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Fatalf("rechist %q changed the file (%d bytes before, %d after)", args, len(before), len(after))
		}
		for _, extra := range []string{"-wal", "-shm", "-journal"} {
			if _, err := os.Stat(path + extra); err == nil {
				t.Errorf("rechist %q left %s behind", args, filepath.Base(path+extra))
			}
		}
	}
}

// migrate down stays down: the reading commands that follow do not
// migrate the file up again.
//
// needs the library's WithReadOnly
func TestMigrateDownStaysDown(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, `{"name":"a","value":1}`+"\n", "ingest")
	ok(t, dir, "", "migrate", "down")
	ok(t, dir, "", "latest", "*")
	ok(t, dir, "", "query", "*", "--since", "1h")
	ok(t, dir, "", "stats")
	if status := ok(t, dir, "", "migrate", "status"); !strings.Contains(status, "pending") {
		t.Fatalf("a reading command migrated the file up again:\n%s", status)
	}
}

// Arguments are checked before the database is opened: a bad pattern or
// time range is exit status 2 and creates nothing.
func TestBadArgumentsBeforeOpening(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"latest", ""}, "pattern is empty"},
		{[]string{"query", "x", "--start", "2026-01-02", "--end", "2026-01-01"}, "is after end"},
		{[]string{"query", "x", "--start", "1969-12-31"}, "before 1970"},
		{[]string{"delete", "x", "--start", "1969-12-31", "--yes"}, "before 1970"},
		{[]string{"agg", "x", "--every", "1h", "--since", "100000d"}, "before 1970"},
		{[]string{"records", ""}, "pattern is empty"},
	} {
		r := runCLI(t, dir, "", tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.says) {
			t.Errorf("rechist %q: exit %d, stderr %q; want exit 2 saying %q", tc.args, r.code, r.stderr, tc.says)
		}
		if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
			t.Fatalf("rechist %q created a database", tc.args)
		}
	}
}
