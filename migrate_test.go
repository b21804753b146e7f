package rechist_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed178a96f3/rechist"
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
