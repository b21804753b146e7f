package robustness

// Faults: a full disk, read-only files and directories, paths that are no
// database, a lock held by another process, a failing batch and rows that
// another program wrote wrong. Every one must give a clear error (at Open
// or at the call), never a hang or a panic, and leave the rows already
// stored intact.
//
// The tests that mount file systems run only with RECHIST_TEST_PRIVILEGED=1
// (as root, on Linux): TestFaultDiskFull always, TestFaultReadOnlyFile and
// TestFaultReadOnlyDirectory when run as root (permission bits do not stop
// root, a read-only mount does). Without it they skip.

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil"
	"github.com/seed178a96f3/rechist/internal/testutil/syncbuf"
)

// hangLimit bounds every call that might hang. It is no performance
// assertion: each call here returns in milliseconds, or within a busy
// timeout of 200ms; only a hang reaches a minute.
const hangLimit = time.Minute

// noHang runs call with a context that ends after hangLimit and returns its
// error; it fails the test if call does not return in time.
func noHang(t *testing.T, what string, call func(ctx context.Context) error) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), hangLimit)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- call(ctx) }()
	select {
	case err := <-done:
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: still waiting after %v: %v", what, hangLimit, err)
		}
		return err
	case <-time.After(hangLimit + 10*time.Second):
		t.Fatalf("%s did not return within %v: it hangs", what, hangLimit)
		return nil
	}
}

// privilegedEnv opts in to the tests that mount file systems (a tmpfs to
// fill, read-only remounts and bind mounts), which needs root on Linux.
// Unset, those tests skip, saying so: a developer's go test ./... never
// mounts anything. Set to 1, as CI does, they must run: where they cannot
// mount, they fail instead of skipping.
const privilegedEnv = "RECHIST_TEST_PRIVILEGED"

// requirePrivileged skips the test unless RECHIST_TEST_PRIVILEGED=1, and
// fails it if the variable is set but the test cannot mount here. what
// says what the test would mount.
func requirePrivileged(t *testing.T, what string) {
	t.Helper()
	switch v := os.Getenv(privilegedEnv); v {
	case "1":
	case "":
		t.Skipf("this test %s, which needs root: set %s=1 to run it (CI does)", what, privilegedEnv)
	default:
		t.Fatalf("%s=%q: want 1 (run the tests that mount file systems) or unset", privilegedEnv, v)
	}
	if runtime.GOOS != "linux" {
		t.Fatalf("%s=1, but this test %s, which needs Linux; this is %s", privilegedEnv, what, runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("%s=1, but this test %s, which needs root", privilegedEnv, what)
	}
}

// mountTmpfs mounts a tmpfs of the given size (such as "4m") on a new
// directory and unmounts it at the end of the test (after every DB opened
// later in the test is closed). It needs RECHIST_TEST_PRIVILEGED=1 (see
// requirePrivileged).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	requirePrivileged(t, "mounts a tmpfs")
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// remountReadOnly makes a tmpfs from mountTmpfs read-only, for root too.
func remountReadOnly(t *testing.T, dir string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s read-only: %v: %s", dir, err, out)
	}
}

// canWrite reports whether this process may open path for writing:
// permission bits do not stop root (CAP_DAC_OVERRIDE).
func canWrite(path string) bool {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// rowCount counts record_history's rows through a connection of its own.
func rowCount(t *testing.T, path string) int64 {
	t.Helper()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int64
	if err := raw.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM record_history").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// seedFile creates a database at path holding one row, x@1=1, and closes it.
func seedFile(t *testing.T, path string) {
	t.Helper()
	db, err := rechist.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	testutil.StoreAt(t, rechist.NewRepo[int](db), "x", 1, testutil.MS(1))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// A full disk makes Store return SQLite's "database or disk is full", not
// hang or panic; the writer goes on, the rows stored before are intact, and
// stores succeed again once there is room. It fills a 4 MiB tmpfs, so it
// runs only with RECHIST_TEST_PRIVILEGED=1.
func TestFaultDiskFull(t *testing.T) {
	dir := mountTmpfs(t, "4m")
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "history.db")
	db, err := rechist.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := rechist.NewRepo[string](db)
	big := strings.Repeat("x", 3000)

	var stored int64 // acknowledged rows
	var full error
	for i := range 10_000 { // 30 MB: far more than the 3 MiB left
		err := noHang(t, "Store on a filling disk", func(ctx context.Context) error {
			return r.StoreAt(ctx, "fill", big, testutil.MS(int64(i)))
		})
		if err != nil {
			full = err
			break
		}
		stored++
	}
	if full == nil {
		t.Fatal("4 MiB took 30 MB without an error")
	}
	t.Logf("disk full after %d rows: %v", stored, full)
	isFull := func(err error) bool {
		return errors.Is(err, rechist.ErrDiskFull) && !errors.Is(err, rechist.ErrInvalidArgument) &&
			strings.Contains(err.Error(), "database or disk is full")
	}
	if !isFull(full) {
		t.Fatalf("disk full: got %v, want SQLite's \"database or disk is full\"", full)
	}

	// The writer is still there: every call returns, each stored or "full".
	for i := range 3 {
		err := noHang(t, "Store on a full disk", func(ctx context.Context) error {
			return r.StoreAt(ctx, "fill", big, testutil.MS(int64(20_000+i)))
		})
		switch {
		case err == nil:
			stored++
		case !isFull(err):
			t.Fatalf("Store on a full disk: %v", err)
		}
	}
	// Deleting needs room in the WAL too, so Cleanup fails the same way.
	var deleted int64
	err = noHang(t, "Cleanup on a full disk", func(ctx context.Context) (err error) {
		deleted, err = db.Cleanup(ctx, testutil.MS(10))
		return err
	})
	t.Logf("Cleanup on the full disk: deleted %d, %v", deleted, err)
	if err != nil && !isFull(err) {
		t.Fatalf("Cleanup on a full disk: %v", err)
	}
	got, err := r.Query(t.Context(), "fill", rechist.QueryParams{})
	if err != nil {
		t.Fatalf("Query on a full disk: %v", err)
	}
	if int64(len(got)) != stored-deleted {
		t.Fatalf("%d rows readable, %d were acknowledged", len(got), stored-deleted)
	}
	testutil.IntegrityCheck(t, path)

	// Room again: the filler goes, stores and cleanups succeed.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := noHang(t, "Store after freeing space", func(ctx context.Context) error {
		return r.StoreAt(ctx, "fill", "small", testutil.MS(30_000))
	}); err != nil {
		t.Fatalf("Store after freeing space: %v", err)
	}
	stored++
	n, err := db.Cleanup(t.Context(), testutil.MS(100))
	if err != nil {
		t.Fatalf("Cleanup after freeing space: %v", err)
	}
	deleted += n
	for i := range 20 {
		if err := r.StoreAt(t.Context(), "fill", big, testutil.MS(int64(40_000+i))); err != nil {
			t.Fatalf("Store after Cleanup: %v", err)
		}
		stored++
	}
	// Close checkpoints the WAL into the database file, which needs room
	// for the whole database next to the WAL: on this disk it may fail,
	// saying so; the rows stay in the WAL for the next Open.
	if err := db.Close(); err != nil {
		t.Logf("Close on the nearly full disk: %v", err)
		if !isFull(err) {
			t.Fatalf("Close on the nearly full disk: %v", err)
		}
	}
	// The disk grows; everything acknowledged is there, once.
	if out, err := exec.Command("mount", "-o", "remount,size=64m", dir).CombinedOutput(); err != nil {
		t.Fatalf("grow the tmpfs: %v: %s", err, out)
	}
	db, _ = testutil.OpenDB(t, path)
	if got := rowCount(t, path); got != stored-deleted {
		t.Fatalf("file holds %d rows, want %d", got, stored-deleted)
	}
	testutil.IntegrityCheck(t, path)
	if err := db.Close(); err != nil {
		t.Fatalf("Close with room on the disk: %v", err)
	}
}

// A read-only database file (in a writable directory) gives a clear error
// at Open or at the first store; the rows in it stay readable. As root it
// bind-mounts the file read-only, so it runs only with
// RECHIST_TEST_PRIVILEGED=1.
func TestFaultReadOnlyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	seedFile(t, path)
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	if canWrite(path) {
		// Root ignores permission bits; a read-only bind mount of the file
		// stops root too.
		requirePrivileged(t, "bind-mounts the file read-only (chmod 0444 does not stop root)")
		if out, err := exec.Command("mount", "--bind", "-o", "ro", path, path).CombinedOutput(); err != nil {
			t.Fatalf("the file stays writable despite chmod 0444 (root), and bind mount failed: %v: %s", err, out)
		}
		t.Cleanup(func() {
			if out, err := exec.Command("umount", path).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v: %s", path, err, out)
			}
		})
		if canWrite(path) {
			t.Fatal("the file is still writable after a read-only bind mount")
		}
	}

	var db *rechist.DB
	err := noHang(t, "Open of a read-only file", func(ctx context.Context) (err error) {
		db, err = rechist.Open(ctx, path)
		return err
	})
	if err != nil {
		// Refusing at Open is fine too, as long as it says why.
		t.Logf("Open refused the read-only file: %v", err)
		if !strings.Contains(err.Error(), "readonly") && !strings.Contains(err.Error(), "unable to open") {
			t.Fatalf("Open of a read-only file: unclear error %v", err)
		}
		return
	}
	defer db.Close()
	r := rechist.NewRepo[int](db)
	err = noHang(t, "Store to a read-only file", func(ctx context.Context) error {
		return r.StoreAt(ctx, "x", 2, testutil.MS(2))
	})
	t.Logf("Open succeeded; Store: %v", err)
	if err == nil || errors.Is(err, rechist.ErrInvalidArgument) || !strings.Contains(err.Error(), "readonly") {
		t.Fatalf("Store to a read-only file: got %v, want SQLite's \"attempt to write a readonly database\"", err)
	}
	got, err := r.Query(t.Context(), "x", rechist.QueryParams{})
	if err != nil || testutil.Summary(got) != "x@1=1" {
		t.Fatalf("Query of a read-only file: %s, %v; want x@1=1", testutil.Summary(got), err)
	}
	if _, err := db.Cleanup(t.Context(), testutil.MS(5)); err == nil || !strings.Contains(err.Error(), "readonly") {
		t.Fatalf("Cleanup of a read-only file: got %v, want a readonly error", err)
	}
}

// A read-only directory: a new database cannot be created in it, and an
// existing one cannot be opened for writing (SQLite needs to create its
// -wal and -shm files next to it). Open says so. As root the directory is
// a tmpfs remounted read-only, so it runs only with
// RECHIST_TEST_PRIVILEGED=1.
func TestFaultReadOnlyDirectory(t *testing.T) {
	var dir string
	if os.Geteuid() == 0 {
		// Root ignores permission bits: use a tmpfs remounted read-only
		// (only with RECHIST_TEST_PRIVILEGED=1).
		dir = mountTmpfs(t, "4m")
		seedFile(t, filepath.Join(dir, "history.db"))
		remountReadOnly(t, dir)
	} else {
		dir = t.TempDir()
		seedFile(t, filepath.Join(dir, "history.db"))
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
	}
	for _, name := range []string{"history.db", "new.db", "sub/new.db"} {
		path := filepath.Join(dir, name)
		err := noHang(t, "Open in a read-only directory", func(ctx context.Context) error {
			db, err := rechist.Open(ctx, path)
			if err == nil {
				db.Close()
			}
			return err
		})
		t.Logf("%s: %v", name, err)
		if err == nil {
			t.Fatalf("Open(%s) in a read-only directory succeeded", name)
		}
		if msg := err.Error(); !strings.Contains(msg, "unable to open") && !strings.Contains(msg, "read-only") &&
			!strings.Contains(msg, "readonly") && !strings.Contains(msg, "permission denied") {
			t.Fatalf("Open(%s) in a read-only directory: unclear error %v", name, err)
		}
	}
}

// Paths that are no database fail at Open with SQLite's reason; a
// database damaged inside opens, and every call on it returns an error
// (or its data) instead of panicking.
func TestFaultNotADatabase(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text.db")
	if err := os.WriteFile(text, bytes.Repeat([]byte("not a database\n"), 100), 0o644); err != nil {
		t.Fatal(err)
	}
	header := filepath.Join(dir, "header.db")
	seedFile(t, header)
	overwrite(t, header, 20, []byte("garbage!")) // inside the 100-byte header
	truncated := filepath.Join(dir, "truncated.db")
	fillFile(t, truncated)
	if err := os.Truncate(truncated, fileSize(t, truncated)/2); err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, says string }{
		{"directory", dir, "is a directory, not a database file"},
		{"text file", text, "file is not a database"},
		{"damaged header", header, "file is not a database"},
		{"truncated to half", truncated, "malformed"},
		{"parent is a file", filepath.Join(notDir, "history.db"), "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := noHang(t, "Open", func(ctx context.Context) error {
				db, err := rechist.Open(ctx, tc.path)
				if err == nil {
					db.Close()
				}
				return err
			})
			// A directory is the caller's mistake (ErrInvalidArgument); the
			// rest are damage.
			if err == nil || errors.Is(err, rechist.ErrInvalidArgument) != (tc.name == "directory") || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want an error saying %q", err, tc.says)
			}
		})
	}

	// Zeroed pages in the middle of the b-tree: Open succeeds (the schema
	// is intact), and calls that reach the damage say "malformed".
	zeroed := filepath.Join(dir, "zeroed.db")
	fillFile(t, zeroed)
	overwrite(t, zeroed, fileSize(t, zeroed)/2, make([]byte, 64<<10))
	if report := testutil.IntegrityReport(t, zeroed); report == "ok" {
		t.Fatal("zeroing 64 KiB did not damage the file")
	}
	db, _ := testutil.OpenDB(t, zeroed)
	r := rechist.NewRepo[string](db)
	for what, call := range map[string]func(ctx context.Context) error{
		"Query": func(ctx context.Context) error {
			_, err := r.Query(ctx, "*", rechist.QueryParams{})
			return err
		},
		"QueryLatest": func(ctx context.Context) error { _, err := r.QueryLatest(ctx, "*", 1); return err },
		"Cleanup":     func(ctx context.Context) error { _, err := db.Cleanup(ctx, testutil.MS(10_000)); return err },
		"Summary":     func(ctx context.Context) error { _, err := db.Summary(ctx, 3); return err },
	} {
		err := noHang(t, what+" on a damaged file", call)
		t.Logf("%s on zeroed pages: %v", what, err)
		if err != nil && !strings.Contains(err.Error(), "database disk image is malformed") {
			t.Errorf("%s on zeroed pages: got %v, want \"database disk image is malformed\"", what, err)
		}
		if what == "Query" && err == nil {
			t.Errorf("Query of every row read past zeroed pages without an error")
		}
	}
}

// fillFile creates a database at path with 5000 rows over 20 records.
func fillFile(t *testing.T, path string) {
	t.Helper()
	db, err := rechist.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]rechist.Record[string], 5_000)
	for i := range recs {
		recs[i] = rechist.Record[string]{Name: fmt.Sprintf("n%02d", i%20), Value: strings.Repeat("v", 40), StoredAt: testutil.MS(int64(i))}
	}
	if err := rechist.NewRepo[string](db).StoreMany(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func overwrite(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// Environment of the locker child: it opens the database at
// lockerEnvPath, optionally creates the Rust crate's schema in it, holds
// BEGIN EXCLUSIVE, writes "locked" and commits when its stdin closes.
const (
	lockerEnvPath = "RECHIST_LOCKER_DB"
	lockerEnvRust = "RECHIST_LOCKER_RUST_SCHEMA"
)

// TestHelperProcessLocker is not a test of its own: it is the body of the
// process that holds the lock in TestFaultLockedByAnotherProcess.
func TestHelperProcessLocker(t *testing.T) {
	path := os.Getenv(lockerEnvPath)
	if path == "" {
		return // not started by a lock test
	}
	if err := holdLock(path, os.Getenv(lockerEnvRust) != ""); err != nil {
		fmt.Fprintln(os.Stderr, "locker:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

func holdLock(path string, rustSchema bool) error {
	ctx := context.Background()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer raw.Close()
	conn, err := raw.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if rustSchema {
		if _, err := conn.ExecContext(ctx, testutil.RustSchema); err != nil {
			return err
		}
	}
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		return err
	}
	if _, err := os.Stdout.Write([]byte("locked\n")); err != nil {
		return err
	}
	io.Copy(io.Discard, os.Stdin) // until the parent closes it
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}

// lockerLimit bounds the life of a locker process: the test that starts
// it makes a few calls of at most hangLimit each while it holds the lock.
const lockerLimit = 5 * hangLimit

// startLocker starts a process that holds an exclusive lock on path, and
// returns once it holds it. release commits and waits for the process; it
// also runs at the end of the test.
func startLocker(t *testing.T, path string, rustSchema bool) (release func()) {
	t.Helper()
	// The locker is killed (and the test fails) if it still runs after
	// lockerLimit: a hung locker must not hang the test.
	ctx, cancel := context.WithTimeout(context.Background(), lockerLimit)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcessLocker$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockerEnvPath+"="+path)
	if rustSchema {
		cmd.Env = append(cmd.Env, lockerEnvRust+"=1")
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			defer cancel()
			stdin.Close()
			io.Copy(io.Discard, stdout)
			if err := cmd.Wait(); err != nil {
				t.Errorf("locker: %v\n%s", err, stderr.String())
			}
		})
	}
	t.Cleanup(release)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		release()
		t.Fatalf("locker did not lock: %q, %v\n%s", line, err, stderr.String())
	}
	return release
}

// A write lock held by another process for longer than a batch may wait
// (WithBatchTimeout) makes Store and Cleanup fail with ErrBusy and SQLite's
// "database is locked", not hang; a caller whose ctx ends first gets its
// ctx's error; reads go on (WAL); once the lock is gone the same DB stores
// again. Open of a file that must be migrated fails with ErrBusy after the
// busy timeout.
func TestFaultLockedByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	db, _ := testutil.OpenDB(t, path, rechist.WithBusyTimeout(200*time.Millisecond), rechist.WithBatchTimeout(300*time.Millisecond))
	r := rechist.NewRepo[int](db)
	testutil.StoreAt(t, r, "x", 1, testutil.MS(1))

	release := startLocker(t, path, false)
	isLocked := func(err error) bool {
		return errors.Is(err, rechist.ErrBusy) && !errors.Is(err, rechist.ErrInvalidArgument) &&
			(strings.Contains(err.Error(), "locked") || strings.Contains(err.Error(), "busy"))
	}
	err := noHang(t, "Store while locked", func(ctx context.Context) error { return r.StoreAt(ctx, "x", 2, testutil.MS(2)) })
	t.Logf("Store while another process holds the lock: %v", err)
	if !isLocked(err) {
		t.Fatalf("Store while locked: got %v, want \"database is locked\"", err)
	}
	err = noHang(t, "StoreMany while locked", func(ctx context.Context) error {
		return r.StoreMany(ctx, []rechist.Record[int]{{Name: "x", Value: 3}, {Name: "y", Value: 3}})
	})
	if !isLocked(err) {
		t.Fatalf("StoreMany while locked: got %v, want \"database is locked\"", err)
	}
	err = noHang(t, "Cleanup while locked", func(ctx context.Context) error { _, err := db.Cleanup(ctx, testutil.MS(5)); return err })
	if !isLocked(err) {
		t.Fatalf("Cleanup while locked: got %v, want \"database is locked\"", err)
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := r.StoreAt(short, "x", 9, testutil.MS(9)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Store with a 50 ms deadline while locked: got %v, want its ctx's error", err)
	}
	got, err := r.Query(t.Context(), "*", rechist.QueryParams{})
	if err != nil || testutil.Summary(got) != "x@1=1" {
		t.Fatalf("Query while locked: %s, %v; want x@1=1", testutil.Summary(got), err)
	}
	release()

	if err := noHang(t, "Store after the lock", func(ctx context.Context) error { return r.StoreAt(ctx, "x", 4, testutil.MS(4)) }); err != nil {
		t.Fatalf("Store after the lock was released: %v", err)
	}
	got, err = r.Query(t.Context(), "*", rechist.QueryParams{})
	if err != nil || testutil.Summary(got) != "x@4=4 x@1=1" {
		t.Fatalf("after the lock: %s, %v; want x@4=4 x@1=1", testutil.Summary(got), err)
	}
	if st := db.Stats(); st.WriteErrors != 3 {
		t.Errorf("WriteErrors = %d, want 3", st.WriteErrors)
	}

	// A file made by the Rust crate needs migrating at Open: while another
	// process holds its lock, Open fails after the busy timeout.
	rust := filepath.Join(t.TempDir(), "rust.db")
	release = startLocker(t, rust, true)
	err = noHang(t, "Open while locked", func(ctx context.Context) error {
		db, err := rechist.Open(ctx, rust, rechist.WithBusyTimeout(200*time.Millisecond))
		if err == nil {
			db.Close()
		}
		return err
	})
	t.Logf("Open of a file to migrate while locked: %v", err)
	if !isLocked(err) {
		t.Fatalf("Open of a file to migrate while locked: got %v, want \"database is locked\"", err)
	}
	release()
	testutil.OpenDB(t, rust) // and once the lock is gone, it opens
}

// A request that fails in the writer fails alone: the requests batched
// with it are committed, a failing StoreMany writes none of its rows, and
// the writer goes on. The failure comes from a trigger that another
// program put in the file.
func TestFaultFailingBatchDoesNotPoisonTheWriter(t *testing.T) {
	var logs syncbuf.Buffer
	db, path := testutil.OpenDB(t, "", rechist.WithBusyTimeout(time.Minute),
		rechist.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	r := rechist.NewRepo[string](db)
	other, err := sql.Open("sqlite", path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec(`CREATE TRIGGER poison BEFORE INSERT ON record_history
		WHEN NEW.record_name = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned row'); END`); err != nil {
		t.Fatal(err)
	}

	// Hold the write lock so that the writer blocks on "first" and the
	// others queue up behind it; released, the writer takes them into one
	// batch (which of them share a batch does not change what must hold).
	tx, err := other.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	stores := []string{"first", "good1", "poison", "good2", "many"}
	errs := make([]chan error, len(stores))
	for i, name := range stores {
		errs[i] = make(chan error, 1)
		go func() {
			if name == "many" {
				errs[i] <- r.StoreMany(context.Background(), []rechist.Record[string]{
					{Name: "many", Value: "a"}, {Name: "poison", Value: "b"}, {Name: "many", Value: "c"}})
				return
			}
			errs[i] <- r.Store(context.Background(), name, name)
		}()
		testutil.WaitFor(t, "the store to be submitted", func() bool { return db.Stats().Requests == int64(i+1) })
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for i, name := range stores {
		var err error
		select {
		case err = <-errs[i]:
		case <-time.After(testutil.WaitLimit):
			t.Fatalf("%s: the store did not return within %v of the lock's release", name, testutil.WaitLimit)
		}
		switch name {
		case "poison", "many":
			if err == nil || errors.Is(err, rechist.ErrInvalidArgument) || !strings.Contains(err.Error(), "poisoned row") {
				t.Errorf("%s: got %v, want the trigger's error", name, err)
			}
		default:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	if err := r.Store(t.Context(), "after", "after"); err != nil {
		t.Fatalf("Store after the failed batch: %v", err)
	}
	got, err := r.QueryLatest(t.Context(), "*", 5)
	if err != nil {
		t.Fatal(err)
	}
	if testutil.Names(got) != "after first good1 good2" {
		t.Fatalf("stored %q, want after first good1 good2", testutil.Names(got))
	}
	if st := db.Stats(); st.WriteErrors != 2 {
		t.Errorf("WriteErrors = %d, want 2", st.WriteErrors)
	}
	if strings.Contains(logs.String(), "batch failed, retrying") {
		t.Log("the failing stores shared a batch with good ones, which was retried store by store")
	} else {
		t.Logf("the failing stores were not batched with others this time; log:\n%s", logs.String())
	}
}

// Rows that another program wrote wrong: queries skip the ones whose JSON
// does not decode (counting them in Stats().SkippedRows), return the rest
// with stored_at as time.UnixMilli(ms).UTC() whatever its value, and keep
// returning the good rows. The README's Reliability section lists each
// outcome.
func TestFaultCorruptRowsFromAnotherProgram(t *testing.T) {
	db, path := testutil.OpenDB(t, "")
	r := rechist.NewRepo[testutil.Accuracy](db)
	good := testutil.Accuracy{Value: 0.5, City: "good"}
	testutil.StoreAt(t, r, "c::good", good, testutil.MS(1))
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	insert := func(name, value any, at any) {
		t.Helper()
		if _, err := raw.Exec(`INSERT INTO record_history (record_name, value_json, stored_at) VALUES (?, ?, ?)`, name, value, at); err != nil {
			t.Fatal(err)
		}
	}
	// Undecodable into Accuracy: skipped and counted.
	insert("c::invalid-json", `{"value":`, testutil.MS(2).UnixMilli())
	insert("c::empty", ``, testutil.MS(2).UnixMilli())
	insert("c::wrong-shape-string", `"a string"`, testutil.MS(2).UnixMilli())
	insert("c::wrong-shape-array", `[1,2]`, testutil.MS(2).UnixMilli())
	insert("c::wrong-field-type", `{"value":"high"}`, testutil.MS(2).UnixMilli())
	insert("c::number-overflow", `{"value":1e999}`, testutil.MS(2).UnixMilli())
	const undecodable = 6
	// Decodable: returned.
	insert("c::null", `null`, testutil.MS(3).UnixMilli())                              // the zero value
	insert("c::unknown-fields", `{"other":1}`, testutil.MS(3).UnixMilli())             // the zero value
	insert("c::blob", []byte(`{"value":2,"city":"blob"}`), testutil.MS(3).UnixMilli()) // a BLOB reads as its text
	insert("c::negative", `{"value":3}`, int64(-5))
	insert("c::max", `{"value":4}`, int64(math.MaxInt64))
	insert("c::min", `{"value":5}`, int64(math.MinInt64))

	got, err := r.Query(t.Context(), "c::*", rechist.QueryParams{})
	if err != nil {
		t.Fatalf("Query over corrupt rows: %v", err)
	}
	want := []string{
		"c::blob@1700000000003={2 blob}",
		"c::good@1700000000001={0.5 good}",
		"c::max@9223372036854775807={4 }",
		"c::min@-9223372036854775808={5 }",
		"c::negative@-5={3 }",
		"c::null@1700000000003={0 }",
		"c::unknown-fields@1700000000003={0 }",
	}
	if got := absSummary(got); got != strings.Join(want, " ") {
		t.Fatalf("Query over corrupt rows:\n got %s\nwant %s", got, strings.Join(want, " "))
	}
	if st := db.Stats(); st.SkippedRows != undecodable {
		t.Errorf("SkippedRows = %d, want %d", st.SkippedRows, undecodable)
	}
	for _, rec := range got {
		if rec.StoredAt.Location() != time.UTC {
			t.Errorf("%s: StoredAt in %v, want UTC", rec.Name, rec.StoredAt.Location())
		}
		switch rec.Name {
		case "c::negative":
			if !rec.StoredAt.Equal(time.UnixMilli(-5)) || rec.StoredAt.Format(time.RFC3339Nano) != "1969-12-31T23:59:59.995Z" {
				t.Errorf("stored_at -5 read as %v", rec.StoredAt)
			}
		case "c::max":
			if !rec.StoredAt.Equal(time.UnixMilli(math.MaxInt64)) {
				t.Errorf("stored_at MaxInt64 read as %v", rec.StoredAt)
			}
		}
	}
	// Bounds select the odd times like any other: a start at the epoch
	// leaves out the negative ones, an end at the last millisecond keeps max.
	got, err = r.Query(t.Context(), "c::*", rechist.QueryParams{Start: time.UnixMilli(0), End: time.UnixMilli(math.MaxInt64)})
	if err != nil {
		t.Fatal(err)
	}
	if testutil.Names(got) != "c::blob c::good c::max c::null c::unknown-fields" {
		t.Errorf("[epoch, max]: %s", testutil.Names(got))
	}
	// Cleanup at the epoch deletes exactly the rows stored before it.
	if n, err := db.Cleanup(t.Context(), time.UnixMilli(0)); n != 2 || err != nil {
		t.Errorf("Cleanup(epoch) = %d, %v; want the 2 negative rows", n, err)
	}
	if got, err := r.QueryLatest(t.Context(), "c::good", 1); err != nil || testutil.Summary(got) != "c::good@1={0.5 good}" {
		t.Fatalf("the good row after all that: %s, %v", testutil.Summary(got), err)
	}
}

// absSummary renders records as "name@unixms=value".
func absSummary[T any](recs []rechist.Record[T]) string {
	s := make([]string, len(recs))
	for i, r := range recs {
		s[i] = fmt.Sprintf("%s@%d=%v", r.Name, r.StoredAt.UnixMilli(), r.Value)
	}
	return strings.Join(s, " ")
}

// Rows whose stored_at or record_name is of the wrong SQLite type: a name
// stored as a BLOB and a stored_at stored as TEXT are never returned (SQLite
// orders BLOBs after text and text after numbers, outside every range); a
// REAL stored_at (1.5) is returned like the others, truncated to whole ms.
func TestFaultWronglyTypedColumnsFromAnotherProgram(t *testing.T) {
	db, path := testutil.OpenDB(t, "")
	r := rechist.NewRepo[string](db)
	testutil.StoreAt(t, r, "w::good", "good", testutil.MS(1))
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{
		`INSERT INTO record_history (record_name, value_json, stored_at) VALUES (CAST('w::blob' AS BLOB), '"blob name"', 5)`,
		`INSERT INTO record_history (record_name, value_json, stored_at) VALUES ('w::text-time', '"text time"', '12abc')`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	got, err := r.Query(t.Context(), "w::*", rechist.QueryParams{})
	if err != nil || testutil.Summary(got) != "w::good@1=good" {
		t.Fatalf("with a BLOB name and a TEXT time: %s, %v; want only w::good", testutil.Summary(got), err)
	}
	if st := db.Stats(); st.SkippedRows != 0 {
		t.Errorf("SkippedRows = %d: rows outside every range are not skipped rows", st.SkippedRows)
	}
	s, err := db.Summary(t.Context(), 0)
	if err != nil || s.Rows != 3 {
		t.Fatalf("Summary counts every row: %d, %v", s.Rows, err)
	}

	if _, err := raw.Exec(`INSERT INTO record_history (record_name, value_json, stored_at) VALUES ('w::real-time', '"real time"', 1.5)`); err != nil {
		t.Fatal(err)
	}
	got, err = r.Query(t.Context(), "w::*", rechist.QueryParams{})
	if err != nil {
		t.Fatalf("one row with a REAL stored_at (1.5) makes the query fail: %v", err)
	}
	if testutil.Names(got) != "w::good w::real-time" {
		t.Fatalf("with a REAL time: %s", testutil.Summary(got))
	}
}
