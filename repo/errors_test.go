package repo

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/internal/testutil/syncbuf"
)

// lockFromAnotherConnection holds the write lock of the file at path from
// a connection of its own until release is called (or the test ends).
func lockFromAnotherConnection(t *testing.T, path string) (release func()) {
	t.Helper()
	other, err := sql.Open("sqlite", path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			_ = tx.Rollback()
			other.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// A write lock that another connection holds for longer than the batch may
// wait reaches the caller as ErrBusy, with SQLite's own message kept.
func TestLockedDatabaseIsErrBusy(t *testing.T) {
	db := openTest(t, core.Config{BatchTimeout: time.Second})
	lockFromAnotherConnection(t, db.e.path)
	// One row is an autocommit INSERT, more rows a transaction: both meet
	// the lock.
	for _, rows := range [][]core.Row{{{Name: "x", ValueJSON: "1"}}, {{Name: "x", ValueJSON: "1"}, {Name: "y", ValueJSON: "2"}}} {
		err := db.Insert(context.Background(), rows)
		if !errors.Is(err, core.ErrBusy) || !strings.Contains(err.Error(), "locked") {
			t.Fatalf("store of %d rows while locked: %v, want ErrBusy", len(rows), err)
		}
	}
	_, err := db.Cleanup(context.Background(), 5)
	if !errors.Is(err, core.ErrBusy) {
		t.Fatalf("cleanup while locked: %v, want ErrBusy", err)
	}
}

// Writers of several processes share the file: a store that meets another
// writer's lock waits for it (trying again) instead of failing after one
// busy timeout, and a caller whose ctx ends while it waits gets its ctx's
// error with nothing written.
func TestWriterWaitsForAnotherWritersLock(t *testing.T) {
	db := openTest(t, core.Config{BusyTimeout: 20 * time.Millisecond})
	release := lockFromAnotherConnection(t, db.e.path)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := db.Insert(ctx, []core.Row{{Name: "gave-up", ValueJSON: "1"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("store whose ctx ended while it waited for the lock: %v, want its ctx's error", err)
	}

	done := make(chan error, 1)
	go func() { done <- db.Insert(context.Background(), []core.Row{{Name: "waited", ValueJSON: "1"}}) }()
	before := db.Stats().Batches
	deadline := time.Now().Add(30 * time.Second)
	for db.Stats().Batches < before+3 { // tries that met the lock, well past 20 ms
		if time.Now().After(deadline) {
			t.Fatal("the writer did not try again")
		}
		time.Sleep(time.Millisecond)
	}
	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("store that waited for the lock: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("store did not finish after the lock was released")
	}
	rows, err := db.Query(context.Background(), "*", core.Unbounded)
	if err != nil || len(rows) != 1 || rows[0].Name != "waited" {
		t.Fatalf("stored %+v, %v; want only the row that waited", rows, err)
	}
}

// A database that cannot grow fails the store with ErrDiskFull (SQLite's
// SQLITE_FULL; here from max_page_count, as a full disk gives it).
func TestFullDatabaseIsErrDiskFull(t *testing.T) {
	db := openTest(t, core.Config{})
	var pages int64
	if err := db.e.writeDB.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.e.writeDB.Exec("PRAGMA max_page_count = " + strconv.FormatInt(pages+2, 10)); err != nil {
		t.Fatal(err)
	}
	big := `"` + strings.Repeat("x", 64<<10) + `"`
	err := db.Insert(context.Background(), []core.Row{{Name: "x", ValueJSON: big}})
	if !errors.Is(err, core.ErrDiskFull) {
		t.Fatalf("store into a full database: %v, want ErrDiskFull", err)
	}
}

// Close's TRUNCATE checkpoint cannot finish while another connection reads
// the WAL. That is not an error (the WAL keeps every commit and the next
// opener finishes the copy), but it is no longer ignored: Close says so in
// the log, and returns nil.
func TestCloseReportsAWALItCouldNotTruncate(t *testing.T) {
	var logs syncbuf.Buffer
	logger := logs.Logger(slog.LevelInfo)
	path := t.TempDir() + "/h.db"
	db, err := core.Open(context.Background(), Driver, path, path, core.Config{Logger: logger, BusyTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// A reader whose snapshot is older than the row stored next: no
	// checkpoint may copy that row into the file while the reader lasts.
	reader, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	tx, err := reader.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow("SELECT COUNT(*) FROM record_history").Scan(&n); err != nil || n != 0 {
		t.Fatalf("reader: %d rows, %v", n, err)
	}
	if err := db.Insert(context.Background(), []core.Row{{Name: "x", ValueJSON: "1"}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close with a reader on the WAL: %v, want nil", err)
	}
	if !strings.Contains(logs.String(), "WAL left for the next opener") {
		t.Fatalf("Close said nothing of the WAL it could not truncate; log:\n%s", logs.String())
	}
}
