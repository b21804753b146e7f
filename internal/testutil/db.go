package testutil

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed178a96f3/rechist"

	_ "modernc.org/sqlite" // the "sqlite" driver of IntegrityReport
)

// OpenDB opens a database at path and closes it at the end of the test,
// failing the test if Open or Close fails (Close after the test closed the
// DB itself is harmless). An empty path means a new file,
// t.TempDir()/data/history.db, in a directory Open must create. It returns
// the DB and its path.
func OpenDB(t testing.TB, path string, opts ...rechist.Option) (*rechist.DB, string) {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "data", "history.db")
	}
	db, err := rechist.Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close(%s): %v", path, err)
		}
	})
	return db, path
}

// IntegrityCheck runs PRAGMA integrity_check on the SQLite file at path
// through a connection of its own and fails the test unless SQLite answers
// "ok".
func IntegrityCheck(t testing.TB, path string) {
	t.Helper()
	if report := IntegrityReport(t, path); report != "ok" {
		t.Fatalf("integrity_check of %s: %s", path, report)
	}
}

// IntegrityReport returns what PRAGMA integrity_check says about the SQLite
// file at path ("ok" for an intact file), or the error that kept it from
// answering.
func IntegrityReport(t testing.TB, path string) string {
	t.Helper()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.QueryContext(t.Context(), "PRAGMA integrity_check")
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var report []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		report = append(report, s)
	}
	if err := rows.Err(); err != nil {
		return err.Error()
	}
	return strings.Join(report, "\n")
}
