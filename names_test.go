package rechist_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

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
