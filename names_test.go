package rechist_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil"
)

// The writer counts the rows of its batches into the names table itself
// while the mark tells the insert trigger to leave them alone; the mark is
// back to 0 whenever another connection looks, and a file without the mark
// row (someone deleted it) is counted by the trigger alone, once.
func TestWriterCountsItsOwnBatches(t *testing.T) {
	for _, withMark := range []bool{true, false} {
		t.Run(fmt.Sprint("mark ", withMark), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "h.db")
			db, err := rechist.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			raw, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if !withMark {
				if _, err := raw.Exec(`DELETE FROM rechist_record_mark`); err != nil {
					t.Fatal(err)
				}
			}
			r := rechist.NewRepo[int](db)
			var batch []rechist.Record[int]
			for i := range 100 {
				batch = append(batch, rechist.Record[int]{Name: fmt.Sprintf("b::%d", i%3), Value: i, StoredAt: testutil.MS(int64(i))})
			}
			if err := r.StoreMany(t.Context(), batch); err != nil {
				t.Fatal(err)
			}
			testutil.StoreAt(t, r, "b::0", 1, testutil.MS(500)) // one row: the trigger's
			if got := recordList(t, db); got != "b::0:35:1700000000000-1700000000500 b::1:33:1700000000001-1700000000097 b::2:33:1700000000002-1700000000098" {
				t.Fatalf("Records: %s", got)
			}
			var mark sql.NullInt64
			err = raw.QueryRow(`SELECT writer_counts FROM rechist_record_mark`).Scan(&mark)
			if withMark && (err != nil || mark.Int64 != 0) || !withMark && err != sql.ErrNoRows {
				t.Fatalf("the mark another connection reads: %v, %v", mark, err)
			}
		})
	}
}

// A cleanup resumes chunk by chunk through rows another program stored
// before 1970 (negative times): each chunk starts at the newest time the
// one before it deleted, not at 0.
func TestCleanupChunksThroughRowsBefore1970(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	db, err := rechist.Open(t.Context(), path, rechist.WithCleanupChunk(3))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range 10 {
		execSQLite(t, path, `INSERT INTO record_history (record_name, value_json, stored_at) VALUES (?, '1', ?)`,
			fmt.Sprintf("old::%d", i%2), -100+i)
	}
	testutil.StoreAt(t, rechist.NewRepo[int](db), "new", 1, testutil.MS(0))
	before := db.Stats().Batches
	if n, err := db.Cleanup(t.Context(), time.UnixMilli(0)); n != 10 || err != nil {
		t.Fatalf("Cleanup(epoch) = %d, %v; want the 10 rows before it", n, err)
	}
	// 3+3+3+1 rows, then one chunk from the start that finds none. (A
	// chunk resumed at 0 would find nothing, and the cleanup would go back
	// to the start every other chunk: 7.)
	if chunks := db.Stats().Batches - before; chunks != 5 {
		t.Errorf("the cleanup took %d chunks, want 5", chunks)
	}
	if got := recordList(t, db); got != "new:1:1700000000000-1700000000000" {
		t.Fatalf("Records after the cleanup: %s", got)
	}
}
