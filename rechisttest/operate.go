package rechisttest

// Operating a database: read-only opens, schema control, backup and
// compaction, strict decoding.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// A read-only DB reads what another DB wrote and refuses every write with
// ErrReadOnly, writing nothing.
func testReadOnlyReadsAndRefusesWrites(t *testing.T, h Harness) {
	w, dsn := h.openDB(t)
	storeAt(t, rechist.NewRepo[int](w), "ro::a", 1, ms(1))
	ro, err := open(t.Context(), dsn, rechist.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	r := rechist.NewRepo[int](ro)
	got, err := r.Query(t.Context(), "ro::*", rechist.QueryParams{})
	if err != nil || summary(got) != "ro::a@1=1" {
		t.Fatalf("read-only Query: %s, %v", summary(got), err)
	}
	if _, err := ro.Summary(t.Context(), 1); err != nil {
		t.Fatalf("read-only Summary: %v", err)
	}
	for name, call := range map[string]func() error{
		"Store":     func() error { return r.Store(t.Context(), "ro::b", 2) },
		"StoreMany": func() error { return r.StoreMany(t.Context(), []rechist.Record[int]{{Name: "ro::c", Value: 3}}) },
		"Cleanup":   func() error { _, err := ro.Cleanup(t.Context(), ms(100)); return err },
		"Compact":   func() error { return ro.Compact(t.Context()) },
	} {
		if err := call(); !errors.Is(err, rechist.ErrReadOnly) {
			t.Errorf("%s on a read-only DB: %v, want ErrReadOnly", name, err)
		}
	}
	// What the writer sees: nothing the read-only DB was asked to write.
	got, err = rechist.NewRepo[int](w).Query(t.Context(), "*", rechist.QueryParams{})
	if err != nil || summary(got) != "ro::a@1=1" {
		t.Fatalf("after the refused writes: %s, %v", summary(got), err)
	}
	// New rows of the writer show up in the read-only DB.
	storeAt(t, rechist.NewRepo[int](w), "ro::d", 4, ms(4))
	if got, err := r.QueryLatest(t.Context(), "ro::d", 1); err != nil || len(got) != 1 {
		t.Fatalf("a row stored after the read-only open: %v, %v", got, err)
	}
	if _, err := open(t.Context(), dsn, rechist.WithReadOnly(), rechist.WithRetention(time.Hour)); !errors.Is(err, rechist.ErrInvalidArgument) {
		t.Fatalf("WithReadOnly with WithRetention: %v, want ErrInvalidArgument", err)
	}
}

// WithoutMigrations never changes the schema: a database that lacks
// migrations is an error that says how to apply them; once they are
// applied (MigrateUp, or goose), it opens.
func testWithoutMigrationsLeavesTheSchemaAlone(t *testing.T, h Harness) {
	if h.Prepared {
		t.Skip("the harness's databases are migrated")
	}
	dsn := h.NewDSN(t)
	if _, err := open(t.Context(), dsn, rechist.WithoutMigrations()); err == nil || !strings.Contains(err.Error(), "migrate up") {
		t.Fatalf("WithoutMigrations on a new database: %v, want an error that says to migrate", err)
	}
	if h.Server {
		st, err := rechist.MigrationStatus(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range st {
			if m.Applied {
				t.Fatalf("WithoutMigrations applied %s", m.Source)
			}
		}
	}
	if _, err := rechist.MigrateUp(t.Context(), dsn); err != nil {
		t.Fatal(err)
	}
	db, err := open(t.Context(), dsn, rechist.WithoutMigrations())
	if err != nil {
		t.Fatalf("WithoutMigrations after MigrateUp: %v", err)
	}
	defer db.Close()
	storeAt(t, rechist.NewRepo[int](db), "x", 1, ms(1))
}

// Backup copies the database consistently while writers go on: the copy
// holds every row acknowledged before Backup began, and opens. A server
// engine refuses with errors.ErrUnsupported.
func testBackupWhileWriting(t *testing.T, h Harness) {
	db, _ := h.openDB(t, h.Fast...)
	r := rechist.NewRepo[int](db)
	for i := range 100 {
		storeAt(t, r, fmt.Sprintf("b::%02d", i%10), i, ms(int64(i)))
	}
	dst := filepath.Join(t.TempDir(), "backups", "copy.db")
	if h.Server {
		if err := db.Backup(t.Context(), dst); !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "pg_dump") {
			t.Fatalf("Backup on a server: %v, want ErrUnsupported naming pg_dump", err)
		}
		return
	}
	// Writers run during the backup.
	var acked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := r.StoreAt(context.Background(), "live", 1000+g*100000+i, ms(int64(i))); err != nil {
					t.Error(err)
					return
				}
				acked.Add(1)
			}
		})
	}
	waitFor(t, "the writers to get going", func() bool { return acked.Load() > 20 })
	before := 100 + acked.Load()
	err := db.Backup(t.Context(), dst)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if err := db.Backup(t.Context(), dst); !errors.Is(err, rechist.ErrInvalidArgument) {
		t.Fatalf("Backup onto an existing file: %v, want ErrInvalidArgument", err)
	}
	cp, err := open(t.Context(), dst, rechist.WithReadOnly())
	if err != nil {
		t.Fatalf("open the copy: %v", err)
	}
	defer cp.Close()
	s, err := cp.Summary(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Rows < before {
		t.Fatalf("the copy holds %d rows, fewer than the %d acknowledged before Backup began", s.Rows, before)
	}
	got, err := rechist.NewRepo[int](cp).Query(t.Context(), "b::*", rechist.QueryParams{})
	if err != nil || len(got) != 100 {
		t.Fatalf("the copy's b::* rows: %d, %v", len(got), err)
	}
}

// Compact gives deleted rows' space back: after a cleanup, the free space
// Summary reports goes to zero and the file shrinks. A server engine
// refuses with errors.ErrUnsupported.
func testCompactAfterCleanup(t *testing.T, h Harness) {
	db, _ := h.openDB(t, h.Fast...)
	if h.Server {
		if err := db.Compact(t.Context()); !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("Compact on a server: %v, want ErrUnsupported", err)
		}
		return
	}
	r := rechist.NewRepo[string](db)
	big := strings.Repeat("x", 2000)
	recs := make([]rechist.Record[string], 3000)
	for i := range recs {
		recs[i] = rechist.Record[string]{Name: fmt.Sprintf("c::%03d", i%100), Value: big, StoredAt: ms(int64(i))}
	}
	if err := r.StoreMany(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Cleanup(t.Context(), ms(2900)); err != nil {
		t.Fatal(err)
	}
	before, err := db.Summary(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Compact(t.Context()); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	after, err := db.Summary(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("before: file %d KiB, free %d KiB, WAL %d KiB; after: file %d KiB, free %d KiB, WAL %d KiB",
		before.FileBytes>>10, before.FreeBytes>>10, before.WALBytes>>10, after.FileBytes>>10, after.FreeBytes>>10, after.WALBytes>>10)
	if after.FreeBytes != 0 || after.Rows != 100 {
		t.Fatalf("after Compact: %d free bytes, %d rows; want 0 and 100", after.FreeBytes, after.Rows)
	}
	// What is on disk: the file and its WAL (before a checkpoint, the rows
	// may still be in the WAL).
	if on, was := after.FileBytes+after.WALBytes, before.FileBytes+before.WALBytes; on >= was/2 {
		t.Fatalf("file and WAL went from %d to %d bytes; most of it was free", was, on)
	}
	got, err := r.QueryLatest(t.Context(), "c::*", 1)
	if err != nil || len(got) != 100 || got[0].Value != big {
		t.Fatalf("after Compact: %d records, %v", len(got), err)
	}
}

// A Strict Repo skips (and counts) rows with fields its type lacks; a
// plain one decodes what fits, which is why patterns keep types apart.
func testStrictRepoKeepsTypesApart(t *testing.T, h Harness) {
	type temperature struct {
		Celsius float64 `json:"celsius"`
	}
	type power struct {
		Watts float64 `json:"watts"`
	}
	db, _ := h.openDB(t)
	storeAt(t, rechist.NewRepo[temperature](db), "t::a", temperature{21.5}, ms(1))
	storeAt(t, rechist.NewRepo[power](db), "p::a", power{300}, ms(2))

	loose, err := rechist.NewRepo[temperature](db).Query(t.Context(), "*", rechist.QueryParams{})
	if err != nil || len(loose) != 2 {
		t.Fatalf("plain Repo over *: %d rows, %v; want both (the power row as a zero temperature)", len(loose), err)
	}
	skippedBefore := db.Stats().SkippedRows
	strict, err := rechist.NewRepo[temperature](db, rechist.Strict()).Query(t.Context(), "*", rechist.QueryParams{})
	if err != nil || len(strict) != 1 || strict[0].Name != "t::a" || strict[0].Value.Celsius != 21.5 {
		t.Fatalf("strict Repo over *: %v, %v; want only t::a", strict, err)
	}
	if n := db.Stats().SkippedRows - skippedBefore; n != 1 {
		t.Fatalf("strict Repo skipped %d rows, want 1 counted", n)
	}
}

// A database of another program (a table, no record_history): a read-only
// open says it is not a history; WithHistoryOnly refuses to add rechist's
// tables to it, and no migration runs; without the option it is adopted,
// as before. Reads and WithHistoryOnly then open it as a history.
func testForeignDatabaseIsNoHistory(t *testing.T, h Harness) {
	if h.Prepared {
		t.Skip("the harness's databases hold rechist's schema")
	}
	if h.ExecRaw == nil {
		t.Skip("the harness cannot create another program's table")
	}
	dsn := h.NewDSN(t)
	if !h.Server { // a file: its directory, where the program keeps it
		if err := os.MkdirAll(filepath.Dir(dsn), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h.ExecRaw(t, dsn, `CREATE TABLE app_users (id INTEGER PRIMARY KEY, name TEXT)`)
	for _, opts := range [][]rechist.Option{{rechist.WithReadOnly()}, {rechist.WithHistoryOnly()}} {
		db, err := open(t.Context(), dsn, opts...)
		if err == nil {
			db.Close()
		}
		if !errors.Is(err, rechist.ErrInvalidArgument) || !strings.Contains(err.Error(), "not a rechist history") || !strings.Contains(err.Error(), "app_users") {
			t.Fatalf("Open with %d options of another program's database: %v, want ErrInvalidArgument saying it is not a rechist history", len(opts), err)
		}
	}
	st, err := rechist.MigrationStatus(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st {
		if m.Applied {
			t.Fatalf("a refused open applied %s", m.Source)
		}
	}
	db, err := open(t.Context(), dsn) // adopted: rechist's tables beside the program's
	if err != nil {
		t.Fatal(err)
	}
	storeAt(t, rechist.NewRepo[int](db), "x", 1, ms(1))
	db.Close()
	for _, opts := range [][]rechist.Option{{rechist.WithReadOnly()}, {rechist.WithHistoryOnly()}} {
		db, err := open(t.Context(), dsn, opts...)
		if err != nil {
			t.Fatalf("Open with %d options of the adopted database: %v", len(opts), err)
		}
		db.Close()
	}
}
