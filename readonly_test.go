package rechist_test

import (
	"crypto/sha256"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil"
)

// rustFile makes a file as another program would: the Rust crate's table
// and index, two rows, in the given journal mode, no goose table.
func rustFile(t *testing.T, journal string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rust.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	schema := strings.Replace(testutil.RustSchema, "PRAGMA journal_mode = WAL;", "PRAGMA journal_mode = "+journal+";", 1)
	if _, err := raw.Exec(schema); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"accuracy::vienna", "accuracy::graz"} {
		if _, err := raw.Exec(`INSERT INTO record_history (record_name, value_json, stored_at) VALUES (?, ?, ?)`,
			name, `{"value":0.5,"city":"x"}`, 1000+i); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// files returns a digest of every file in dir, by name.
func files(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = sha256.Sum256(b)
	}
	return out
}

// A read-only open of a file another program made changes nothing: not a
// byte of the file, no goose table, no index, no journal-mode change (the
// Rust crate's file in rollback-journal mode stays so), and reads work on
// the Rust crate's schema alone. Before, every open migrated and switched
// the file to WAL for good.
func TestReadOnlyOpenChangesNothing(t *testing.T) {
	for _, journal := range []string{"DELETE", "WAL"} {
		t.Run(journal, func(t *testing.T) {
			path := rustFile(t, journal)
			before := files(t, filepath.Dir(path))
			db, err := rechist.Open(t.Context(), path, rechist.WithReadOnly())
			if err != nil {
				t.Fatal(err)
			}
			got, err := rechist.QueryLatest[Accuracy](t.Context(), db, "accuracy::*", 5)
			if err != nil || len(got) != 2 {
				t.Fatalf("QueryLatest on the Rust schema: %d rows, %v", len(got), err)
			}
			all, err := rechist.Query[Accuracy](t.Context(), db, "*", rechist.QueryParams{})
			if err != nil || len(all) != 2 {
				t.Fatalf("Query * (no stored_at index in this schema): %d rows, %v", len(all), err)
			}
			if sum, err := db.Summary(t.Context(), 3); err != nil || sum.Rows != 2 || sum.Records != 2 {
				t.Fatalf("Summary: %+v, %v", sum, err)
			}
			if got := recordList(t, db); got != "accuracy::graz:1:1001-1001 accuracy::vienna:1:1000-1000" {
				t.Fatalf("Records on the Rust schema: %s", got)
			}
			if _, err := rechist.MigrationStatus(t.Context(), path); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			after := files(t, filepath.Dir(path))
			for name, sum := range after {
				if before[name] == sum {
					continue
				}
				// A reader of a WAL-mode file needs the WAL index (-shm) and
				// an -wal beside it, as any SQLite reader does; the WAL stays
				// empty.
				if journal == "WAL" && (strings.HasSuffix(name, "-shm") || strings.HasSuffix(name, "-wal") && fileSize(t, filepath.Join(filepath.Dir(path), name)) == 0) {
					continue
				}
				t.Errorf("%s changed or appeared", name)
			}
			raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			var goose, mode string
			_ = raw.QueryRow(`SELECT name FROM sqlite_master WHERE name = 'goose_db_version'`).Scan(&goose)
			if err := raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if goose != "" || !strings.EqualFold(mode, journal) {
				t.Fatalf("after a read-only open: goose table %q, journal mode %q (was %s)", goose, mode, journal)
			}
		})
	}
}

// A read-only open of a path with no database is an error that names the
// path, and creates neither the file nor its directory.
func TestReadOnlyOpenOfAMissingFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "typo")
	path := filepath.Join(dir, "histroy.db")
	_, err := rechist.Open(t.Context(), path, rechist.WithReadOnly())
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("got %v, want an error naming %s", err, path)
	}
	if fileExists(dir) {
		t.Fatalf("%s was created", dir)
	}
}

// Files rechist creates get incremental auto-vacuum, so Compact frees
// pages in place; a file another program made (auto-vacuum off) is rebuilt
// once by Compact and switched to incremental.
func TestCompactOfARustCrateFileSwitchesToIncremental(t *testing.T) {
	path := rustFile(t, "WAL")
	db, err := rechist.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mode := func(p string) int {
		raw, err := sql.Open("sqlite", p)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		var m int
		if err := raw.QueryRow(`PRAGMA auto_vacuum`).Scan(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := mode(path); m != 0 {
		t.Fatalf("the Rust crate's file has auto_vacuum %d, want 0", m)
	}
	if err := db.Compact(t.Context()); err != nil {
		t.Fatal(err)
	}
	if m := mode(path); m != 2 {
		t.Fatalf("after Compact: auto_vacuum %d, want 2 (incremental)", m)
	}
	got, err := rechist.QueryLatest[Accuracy](t.Context(), db, "accuracy::*", 5)
	if err != nil || len(got) != 2 {
		t.Fatalf("after Compact: %d rows, %v", len(got), err)
	}
	fresh := filepath.Join(t.TempDir(), "new.db")
	testutil.OpenDB(t, fresh)
	if m := mode(fresh); m != 2 {
		t.Fatalf("a file rechist created has auto_vacuum %d, want 2", m)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
