package repo

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed178a96f3/rechist/internal/core"
)

// A large cleanup's space comes back in steps of compactPages free pages,
// each its own call of the writer (so each fits the batch timeout and
// stores go between them: one PRAGMA incremental_vacuum for all of it ran
// past the batch timeout on a year of ten records, 5M rows deleted), and
// DB.Compact takes as many as it needs.
func TestCompactGivesSpaceBackInSteps(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, core.Config{})
	pad := strings.Repeat("x", 900)
	var rows []core.Row
	for i := range 3 * compactPages {
		rows = append(rows, core.Row{Name: "a", ValueJSON: fmt.Sprintf(`{"i":%d,"pad":%q}`, i, pad), StoredAt: int64(i)})
		if len(rows) == 2000 {
			mustInsert(t, e, rows...)
			rows = rows[:0]
		}
	}
	mustInsert(t, e, rows...)
	if _, err := e.Cleanup(ctx, 3*compactPages); err != nil {
		t.Fatal(err)
	}
	free := func() int64 {
		var n int64
		if err := e.e.writeDB.QueryRowContext(ctx, "PRAGMA freelist_count").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := free()
	if before < 2*compactPages {
		t.Fatalf("%d free pages after the cleanup, want at least %d", before, 2*compactPages)
	}
	more, err := e.e.Compact(ctx)
	if err != nil || !more {
		t.Fatalf("first step: more %v, %v; want more", more, err)
	}
	if got := free(); got != before-compactPages {
		t.Fatalf("first step freed %d pages, want %d", before-got, compactPages)
	}
	size := func() int64 {
		fi, err := os.Stat(e.Path())
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	mid := size()
	if err := e.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if got := free(); got != 0 {
		t.Fatalf("after Compact: %d free pages", got)
	}
	if after := size(); after > mid-(before-compactPages)*1024*9/10 {
		t.Fatalf("the file went from %d to %d bytes, want about %d less", mid, after, (before-compactPages)*1024)
	}
}

// The writer keeps statement journals in memory (temp_store 2), and keeps
// doing so after Compact's VACUUM, which runs with its copy on disk: a file
// without incremental auto-vacuum (as the Rust crate makes them) is
// rebuilt by it. The connection that migrates keeps SQLite's default.
func TestWriterKeepsStatementJournalsInMemory(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crate.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE t (x); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	e := openTestAt(t, path, core.Config{})
	tempStore := func() int {
		var n int
		if err := e.e.writeDB.QueryRowContext(ctx, "PRAGMA temp_store").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := tempStore(); got != 2 {
		t.Fatalf("writer's temp_store %d, want 2 (memory)", got)
	}
	var mode int
	if err := e.e.writeDB.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil || mode != 0 {
		t.Fatalf("auto_vacuum %d, %v; want 0 before Compact", mode, err)
	}
	if err := e.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.e.writeDB.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil || mode != 2 {
		t.Fatalf("auto_vacuum %d, %v; want 2: Compact did not VACUUM", mode, err)
	}
	if got := tempStore(); got != 2 {
		t.Fatalf("writer's temp_store %d after VACUUM, want 2 (memory)", got)
	}
	params := writerParams(e.e.cfg, false, false)
	if strings.Contains(params.Encode(), "temp_store") {
		t.Fatalf("the migrating connection's params %q set temp_store", params.Encode())
	}
}
