package rechist_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/seed178a96f3/rechist"
)

// A file whose schema predates sync (the Rust crate's) has no identity:
// Sync from it read-only says so and changes nothing; opened writable
// once, it gets one and syncs.
func TestSyncFromAFileWithoutIdentity(t *testing.T) {
	ctx := t.Context()
	path := rustFile(t, "DELETE")
	before := files(t, filepath.Dir(path))
	src, err := rechist.Open(ctx, path, rechist.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	dst, err := rechist.Open(ctx, filepath.Join(t.TempDir(), "dst.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := rechist.Sync(ctx, src, dst); !errors.Is(err, rechist.ErrNoSourceID) {
		t.Fatalf("Sync from a Rust crate file opened read-only = %v; want ErrNoSourceID", err)
	}
	if _, err := src.SourceID(ctx); !errors.Is(err, rechist.ErrNoSourceID) {
		t.Fatalf("SourceID = %v; want ErrNoSourceID", err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if after := files(t, filepath.Dir(path)); len(after) != len(before) {
		t.Fatalf("a read-only sync changed the folder: %d files, then %d", len(before), len(after))
	} else {
		for name, sum := range before {
			if after[name] != sum {
				t.Fatalf("a read-only sync changed %s", name)
			}
		}
	}
	src, err = rechist.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	res, err := rechist.Sync(ctx, src, dst)
	if err != nil || res.Copied == 0 || res.Source == "" {
		t.Fatalf("Sync after a writable open: %+v, %v", res, err)
	}
}
