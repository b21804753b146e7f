package core_test

import (
	"database/sql"
	"path/filepath"
	"slices"
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

// epochs lists the sync epochs of the SQLite file at path as start ids.
func epochs(t *testing.T, path string) []int64 {
	t.Helper()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.QueryContext(t.Context(), `SELECT start_id FROM rechist_sync_epoch ORDER BY start_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func openFile(t *testing.T, path string, opts ...rechist.Option) *rechist.DB {
	t.Helper()
	db, err := rechist.Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A DB handle begins an epoch with the first rows it stores (a single
// Store too), from the next id on, and only then: opening, reading and
// deleting add none, so the table grows by one row per handle that wrote.
func TestSyncEpochBegunByAHandlesFirstRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "src.db")
	db := openFile(t, path)
	if got := epochs(t, path); len(got) != 0 {
		t.Fatalf("epochs after Open = %v; want none", got)
	}
	repo := rechist.NewRepo[int](db)
	for i := range 3 {
		if err := repo.Store(t.Context(), "r", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openFile(t, path)
	if _, err := db.Delete(t.Context(), "r", rechist.QueryParams{}); err != nil {
		t.Fatal(err)
	}
	if got := epochs(t, path); !slices.Equal(got, []int64{1}) {
		t.Fatalf("epochs after a handle that stored 3 rows and one that deleted = %v; want [1]", got)
	}
	if err := rechist.NewRepo[int](db).StoreMany(t.Context(), []rechist.Record[int]{{Name: "r", Value: 3}, {Name: "r", Value: 4}}); err != nil {
		t.Fatal(err)
	}
	if got := epochs(t, path); !slices.Equal(got, []int64{1, 4}) {
		t.Fatalf("epochs after the second handle stored = %v; want [1 4]", got)
	}
}

// A cursor that an older rechist wrote (no epoch) and a source whose
// epochs begin after it (its writer upgraded since) still fit: the
// upgrade is no copy.
func TestSyncCursorFromBeforeEpochs(t *testing.T) {
	dir := t.TempDir()
	srcPath, dstPath := filepath.Join(dir, "src.db"), filepath.Join(dir, "dst.db")
	src, dst := openFile(t, srcPath), openFile(t, dstPath)
	repo := rechist.NewRepo[int](src)
	for i := range 5 {
		if err := repo.Store(t.Context(), "r", i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rechist.Sync(t.Context(), src, dst); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	for path, stmt := range map[string]string{srcPath: `DELETE FROM rechist_sync_epoch`, dstPath: `DELETE FROM rechist_sync_cursor_epoch`} {
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(t.Context(), stmt); err != nil {
			t.Fatal(err)
		}
		raw.Close()
	}
	src = openFile(t, srcPath)
	if err := rechist.NewRepo[int](src).Store(t.Context(), "r", 5); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Delete(t.Context(), "r", rechist.QueryParams{}); err != nil { // the row at the cursor too
		t.Fatal(err)
	}
	if err := rechist.NewRepo[int](src).Store(t.Context(), "r", 6); err != nil {
		t.Fatal(err)
	}
	r, err := rechist.Sync(t.Context(), src, dst)
	if err != nil || r.Copied != 1 || r.Missed != 1 || r.Cursor != 7 {
		t.Fatalf("sync after the upgrade: %+v, %v; want 1 copied, 1 missed, cursor 7", r, err)
	}
}
