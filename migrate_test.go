package rechist_test

import (
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil"
	"github.com/seed178a96f3/rechist/migrations"
)

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// MigrationStatus and MigrateDown read or change an existing database and
// never create one: a typo'd path is an error that names it, and neither
// the file nor its directory appears.
func TestMigrationToolsDoNotCreateADatabase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "typo")
	path := filepath.Join(dir, "histroy.db")
	_, err := rechist.MigrationStatus(t.Context(), path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("MigrationStatus of a missing file: %v, want an error naming %s", err, path)
	}
	if _, err := rechist.MigrateDown(t.Context(), path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("MigrateDown of a missing file: %v", err)
	}
	if fileExists(dir) {
		t.Fatalf("%s was created", dir)
	}
	// MigrateUp is a writing tool: it creates the file.
	if _, err := rechist.MigrateUp(t.Context(), path); err != nil {
		t.Fatal(err)
	}
	st, err := rechist.MigrationStatus(t.Context(), path)
	if err != nil || len(st) == 0 || !st[0].Applied {
		t.Fatalf("status after MigrateUp: %+v, %v", st, err)
	}
}

// goose down to version 0, as the goose command line runs it with this
// folder (`goose -dir migrations sqlite3 FILE reset`), keeps record_history,
// its index and every row: 00001 adopts the Rust crate's table and its Down
// section does nothing. (CI runs the goose command line too.)
func TestGooseDownToZeroKeepsTheHistory(t *testing.T) {
	db, path := testutil.OpenDB(t, "")
	r := rechist.NewRepo[int](db)
	for i := range 3 {
		testutil.StoreAt(t, r, "kept", i, testutil.MS(int64(i)))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	conn, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	p, err := goose.NewProvider(goose.DialectSQLite3, conn, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	if v, err := p.GetDBVersion(t.Context()); err != nil || v != 0 {
		t.Fatalf("version after down to 0: %d, %v", v, err)
	}
	var rows, index int
	if err := conn.QueryRow(`SELECT COUNT(*) FROM record_history`).Scan(&rows); err != nil || rows != 3 {
		t.Fatalf("after goose down to 0: %d rows, %v; want all 3", rows, err)
	}
	if err := conn.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'idx_record_time'`).Scan(&index); err != nil || index != 1 {
		t.Fatalf("idx_record_time after goose down to 0: %d, %v", index, err)
	}
	// And up again, as rechist does at the next writing Open.
	if _, err := p.Up(t.Context()); err != nil {
		t.Fatal(err)
	}
	again, _ := testutil.OpenDB(t, path)
	got, err := rechist.Query[int](t.Context(), again, "kept", rechist.QueryParams{})
	if err != nil || len(got) != 3 {
		t.Fatalf("after up again: %d rows, %v", len(got), err)
	}
}
