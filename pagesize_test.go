package rechist_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/internal/testutil"
)

// pageSizeOf reads the page size of the file at path through a plain
// connection.
func pageSizeOf(t *testing.T, path string) int {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow("PRAGMA page_size").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The page size applies to a file Open creates and to nothing else: a
// file rechist made keeps its page size whatever a later Open asks for,
// and so does a file the Rust crate made (SQLite's 4096).
func TestPageSizeAppliesToNewFilesOnly(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()

	def := filepath.Join(dir, "default.db")
	db, err := rechist.Open(ctx, def)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := pageSizeOf(t, def); got != core.DefaultPageSize {
		t.Errorf("a new file without WithPageSize has %d-byte pages, want %d", got, core.DefaultPageSize)
	}

	small := filepath.Join(dir, "small.db")
	db, err = rechist.Open(ctx, small, rechist.WithPageSize(1024))
	if err != nil {
		t.Fatal(err)
	}
	if err := rechist.NewRepo[int](db).Store(ctx, "a", 1); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := pageSizeOf(t, small); got != 1024 {
		t.Fatalf("WithPageSize(1024) made %d-byte pages", got)
	}
	db, err = rechist.Open(ctx, small, rechist.WithPageSize(8192))
	if err != nil {
		t.Fatal(err)
	}
	if err := rechist.NewRepo[int](db).Store(ctx, "a", 2); err != nil {
		t.Fatal(err)
	}
	got, err := rechist.NewRepo[int](db).QueryLatest(ctx, "a", 5)
	if err != nil || len(got) != 2 {
		t.Fatalf("rows after reopening with another page size: %v, %v", got, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := pageSizeOf(t, small); got != 1024 {
		t.Errorf("reopening with WithPageSize(8192) changed the page size to %d", got)
	}

	// A file the Rust crate made: SQLite's default page size, kept.
	rust := filepath.Join(dir, "rust.db")
	raw, err := sql.Open("sqlite", rust)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(testutil.RustSchema); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO record_history (record_name, value_json, stored_at) VALUES ('r', '1', 1000)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	before := pageSizeOf(t, rust)
	db, err = rechist.Open(ctx, rust, rechist.WithPageSize(512))
	if err != nil {
		t.Fatal(err)
	}
	if err := rechist.NewRepo[int](db).Store(ctx, "r", 2); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := pageSizeOf(t, rust); got != before {
		t.Errorf("opening a Rust-made file changed its page size from %d to %d", before, got)
	}
}

// WithPageSize takes the page sizes SQLite accepts and refuses the rest
// by name.
func TestWithPageSizeValidates(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, -1024, 256, 1000, 3072, 131072} {
		db, err := rechist.Open(t.Context(), filepath.Join(dir, fmt.Sprintf("bad%d.db", n)), rechist.WithPageSize(n))
		if err == nil {
			db.Close()
			t.Errorf("WithPageSize(%d): Open succeeded", n)
			continue
		}
		if !strings.Contains(err.Error(), "WithPageSize") {
			t.Errorf("WithPageSize(%d): %v does not name the option", n, err)
		}
	}
	for _, n := range []int{512, 65536} {
		path := filepath.Join(dir, fmt.Sprintf("good%d.db", n))
		db, err := rechist.Open(t.Context(), path, rechist.WithPageSize(n))
		if err != nil {
			t.Fatalf("WithPageSize(%d): %v", n, err)
		}
		db.Close()
		if got := pageSizeOf(t, path); got != n {
			t.Errorf("WithPageSize(%d) made %d-byte pages", n, got)
		}
	}
}

// Names up to MaxNameBytes do not fit in an index cell of a small page
// (at most 231 bytes of a cell stay on a 1 KiB page, 103 on a 512-byte
// one; the rest goes to overflow pages): they still store, compare and
// query like short ones, through the walk, the time-range path and the
// Rust crate's query, and the file stays sound.
func TestLongNamesOnSmallPages(t *testing.T) {
	for _, ps := range []int{512, 1024} {
		t.Run(fmt.Sprint(ps), func(t *testing.T) {
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "h.db")
			db, err := rechist.Open(ctx, path, rechist.WithPageSize(ps))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// Long names that share all but their last bytes, so the
			// B-tree compares them in their overflow pages, among short ones.
			prefix := "long::" + strings.Repeat("x", 1990)
			var names []string
			for i := range 20 {
				names = append(names, fmt.Sprintf("%s%04d", prefix, i)) // 2000 bytes
			}
			names = append(names, "long::"+strings.Repeat("y", rechist.MaxNameBytes-6), "long::short", "other")
			if len(names[0]) != 2000 || len(names[20]) != rechist.MaxNameBytes {
				t.Fatalf("name lengths %d, %d", len(names[0]), len(names[20]))
			}
			r := rechist.NewRepo[int](db)
			base := time.UnixMilli(1_700_000_000_000).UTC()
			var recs []rechist.Record[int]
			for k := range 30 { // 30 rows a name, round-robin: a deep index
				for i, n := range names {
					recs = append(recs, rechist.Record[int]{Name: n, Value: k*100 + i, StoredAt: base.Add(time.Duration(k*len(names)+i) * time.Millisecond)})
				}
			}
			if err := r.StoreMany(ctx, recs); err != nil {
				t.Fatal(err)
			}
			for i, n := range names[:3] { // and one at a time, through the writer
				if err := r.StoreAt(ctx, n, 9000+i, base.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}

			got, err := r.QueryLatest(ctx, "long::*", 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2*(len(names)-1) {
				t.Fatalf("QueryLatest(long::*, 2): %d rows, want %d", len(got), 2*(len(names)-1))
			}
			perName := map[string][]int{}
			for _, rec := range got {
				perName[rec.Name] = append(perName[rec.Name], rec.Value)
			}
			for i, n := range names[:len(names)-1] {
				want := []int{2900 + i, 2800 + i}
				if i < 3 {
					want = []int{9000 + i, 2900 + i}
				}
				if !slices.Equal(perName[n], want) {
					t.Errorf("QueryLatest: name %d (%d bytes): %v, want %v", i, len(n), perName[n], want)
				}
			}

			last, err := r.Latest(ctx, names[20])
			if err != nil || last.Value != 2920 {
				t.Errorf("Latest of the %d-byte name: %v, %v", len(names[20]), last, err)
			}

			// The newest 10 rows of the bulk over every record: the
			// idx_record_stored_at path.
			start := base.Add(time.Duration(29*len(names)+13) * time.Millisecond)
			rng, err := r.Query(ctx, "*", rechist.QueryParams{Start: start, End: base.Add(time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			if len(rng) != 10 {
				t.Errorf("time range: %d rows, want 10", len(rng))
			}

			// The Rust crate's query reads the same rows.
			raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			var n int
			if err := raw.QueryRow(`SELECT count(*) FROM (`+rustQuery+`)`, prefix+"%", 2).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 2*20 {
				t.Errorf("the Rust query over the 2000-byte names: %d rows, want 40", n)
			}
			var check string
			if err := raw.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
				t.Errorf("integrity_check: %q, %v", check, err)
			}
			if got := pageSizeOf(t, path); got != ps {
				t.Errorf("page size %d, want %d", got, ps)
			}
		})
	}
}
