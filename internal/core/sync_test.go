package core_test

import (
	"path/filepath"
	"testing"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/core"
)

// Two syncs of one growing source: the second moves the cursor over rows
// stored after the first began. The first must not take its source for an
// older copy of itself (a high-water mark read before the cursor did).
func TestSyncConcurrentWithAGrowingSourceIsNoCopy(t *testing.T) {
	dir := t.TempDir()
	src, err := rechist.Open(t.Context(), filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := rechist.Open(t.Context(), filepath.Join(dir, "dst.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	repo := rechist.NewRepo[int](src)
	for i := range 10 {
		if err := repo.Store(t.Context(), "r", i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rechist.Sync(t.Context(), src, dst); err != nil {
		t.Fatal(err)
	}
	var other error
	core.SetSyncSourceRead(func() {
		core.SetSyncSourceRead(nil)
		for i := 10; i < 15; i++ {
			if err := repo.Store(t.Context(), "r", i); err != nil {
				t.Fatal(err)
			}
		}
		_, other = rechist.Sync(t.Context(), src, dst)
	})
	defer core.SetSyncSourceRead(nil)
	r, err := rechist.Sync(t.Context(), src, dst)
	if other != nil {
		t.Fatalf("the other Sync: %v", other)
	}
	if err != nil {
		t.Fatalf("Sync while another moved the cursor over new rows: %v", err)
	}
	if r.Cursor != 15 || r.Copied != 0 {
		t.Fatalf("Sync: cursor %d, copied %d; want 15, 0", r.Cursor, r.Copied)
	}
	rows, err := rechist.Query[int](t.Context(), dst, "r", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 15 {
		t.Fatalf("destination holds %d rows, want 15", len(rows))
	}
}
