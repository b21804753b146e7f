package repo

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/seed178a96f3/rechist/internal/core"
)

// reshape opens a new file, lets stmts change its schema as an older or
// foreign program would have left it, and opens it read-only.
func reshape(t *testing.T, stmts ...string) *testDB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "h.db")
	e := openTestAt(t, path, core.Config{})
	mustInsert(t, e, core.Row{Name: "a", ValueJSON: "1", StoredAt: 1})
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, s := range stmts {
		if _, err := raw.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return openTestAt(t, path, core.Config{ReadOnly: true})
}

// A file opened read-only whose schema predates the sync tables has no
// identity, no cursors and no epochs: absent, not an error.
func TestSyncReadsOfAFileWithoutSyncTables(t *testing.T) {
	e := reshape(t, "DROP TABLE rechist_meta", "DROP TABLE rechist_sync_cursor",
		"DROP TABLE rechist_sync_epoch", "DROP TABLE rechist_sync_cursor_epoch")
	err := e.e.Read(context.Background(), func(rd core.Reader) error {
		if _, err := rd.SourceID(context.Background()); !errors.Is(err, core.ErrNoSourceID) {
			t.Errorf("SourceID: %v, want ErrNoSourceID", err)
		}
		if c, err := rd.SyncCursor(context.Background(), "src"); err != nil || c != (core.SyncCursor{}) {
			t.Errorf("SyncCursor: %+v, %v; want none", c, err)
		}
		if tok, err := rd.SyncEpoch(context.Background(), 1); err != nil || tok != "" {
			t.Errorf("SyncEpoch: %q, %v; want none", tok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A file that predates only migration 00004 has cursors without epochs.
func TestSyncCursorOfAFileWithoutEpochTables(t *testing.T) {
	e := reshape(t, "DROP TABLE rechist_sync_epoch", "DROP TABLE rechist_sync_cursor_epoch",
		"INSERT INTO rechist_sync_cursor VALUES ('src', 7, 'h', 7, 0, 1)")
	err := e.e.Read(context.Background(), func(rd core.Reader) error {
		c, err := rd.SyncCursor(context.Background(), "src")
		if err != nil || c.LastID != 7 || c.LastEpoch != "" {
			t.Errorf("SyncCursor: %+v, %v; want last id 7 without an epoch", c, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A sync table that is there but of another shape is an error, not a
// missing table: only an absent table means "no sync state".
func TestSyncTableOfAnotherShapeIsAnError(t *testing.T) {
	e := reshape(t, "DROP TABLE rechist_meta", "CREATE TABLE rechist_meta (key TEXT PRIMARY KEY)")
	err := e.e.Read(context.Background(), func(rd core.Reader) error {
		_, err := rd.SourceID(context.Background())
		return err
	})
	if err == nil || errors.Is(err, core.ErrNoSourceID) {
		t.Fatalf("SourceID of a rechist_meta without its value column: %v, want the SQL error", err)
	}
}
