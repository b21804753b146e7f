package repo

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/internal/testutil/syncbuf"
)

// These tests run real processes on one file: the test binary re-executed
// as a helper (TestHelperProcess), as an application's writer and an
// operator's `rechist serve` would share it.

const helperEnv = "RECHIST_REPO_HELPER"

// TestHelperProcess is not a test: re-executed with helperEnv set, it acts
// as another process on the file named there, until its stdin closes.
func TestHelperProcess(t *testing.T) {
	role := os.Getenv(helperEnv)
	if role == "" {
		t.Skip("helper process only")
	}
	path := os.Getenv(helperEnv + "_PATH")
	if err := runHelper(role, path); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runHelper(role, path string) error {
	stop := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	if role == "cycler" {
		fmt.Println("ready")
		return cycle(path, stop)
	}
	if role == "hog" {
		fmt.Println("ready")
		return hog(path)
	}
	if role == "stayer" {
		return stay(path, stop)
	}
	if role == "exec" {
		return execSQL(path, os.Getenv(helperEnv+"_SQL"), stop)
	}
	db, err := core.Open(context.Background(), Driver, path, path, core.Config{BusyTimeout: helperBusyTimeout})
	if err != nil {
		return err
	}
	if role == "writer" {
		fmt.Println("ready")
		return write(db, stop)
	}
	defer db.Close()
	fmt.Println("ready")
	var queries int
	for {
		select {
		case <-stop:
			fmt.Fprintln(os.Stderr, "queries:", queries)
			return nil
		default:
		}
		switch role {
		case "reader":
			if _, err := db.Query(context.Background(), "r*", core.Range{StartMs: 0, EndMs: 1 << 62, LimitPerRecord: 1}); err != nil {
				return err
			}
			queries++
		default:
			return fmt.Errorf("unknown role %q", role)
		}
	}
}

// write stores from 8 goroutines, now and then many rows at once or a
// cleanup, helperRounds*25 times each (or until stop); then it closes the
// DB and reports on stderr the calls that failed and how long Close took.
func write(db *core.DB, stop <-chan struct{}) error {
	var failed atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) {
		if failed.Add(1) == 1 {
			firstErr.Store(err.Error())
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range helperRounds * 25 {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				switch {
				case g == 0 && i%50 == 49:
					_, err = db.Cleanup(context.Background(), 1) // a write transaction that deletes nothing
				case g == 1 && i%20 == 19:
					rows := make([]core.Row, 50)
					for j := range rows {
						rows[j] = core.Row{Name: fmt.Sprintf("m%d", j), ValueJSON: "1", StoredAt: int64(i)}
					}
					err = db.Insert(context.Background(), rows)
				default:
					err = db.Insert(context.Background(), []core.Row{{Name: fmt.Sprintf("w%d", g), ValueJSON: "1", StoredAt: int64(i)}})
				}
				if err != nil {
					fail(err)
				}
			}
		})
	}
	wg.Wait()
	t0 := time.Now()
	if err := db.Close(); err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "failed %d (%v); close %v\n", failed.Load(), firstErr.Load(), time.Since(t0).Round(time.Millisecond))
	if failed.Load() > 0 {
		return fmt.Errorf("%d calls failed, the first: %v", failed.Load(), firstErr.Load())
	}
	return nil
}

// cycle opens the file, stores 50 rows, and closes it, helperRounds times
// (or until stop); it fails if a call fails.
func cycle(path string, stop <-chan struct{}) error {
	var rounds int
	var slowest time.Duration
	for {
		select {
		case <-stop:
			fmt.Fprintf(os.Stderr, "rounds %d; slowest close %v\n", rounds, slowest.Round(time.Millisecond))
			return nil
		default:
		}
		db, err := core.Open(context.Background(), Driver, path, path, core.Config{BusyTimeout: helperBusyTimeout})
		if err != nil {
			return fmt.Errorf("round %d: open: %w", rounds, err)
		}
		for i := range 50 {
			if err := db.Insert(context.Background(), []core.Row{{Name: "cycle", ValueJSON: "1", StoredAt: int64(i)}}); err != nil {
				db.Close()
				return fmt.Errorf("round %d: store: %w", rounds, err)
			}
		}
		t0 := time.Now()
		if err := db.Close(); err != nil {
			return fmt.Errorf("round %d: close: %w", rounds, err)
		}
		slowest = max(slowest, time.Since(t0))
		if rounds++; rounds == helperRounds {
			fmt.Fprintf(os.Stderr, "rounds %d; slowest close %v\n", rounds, slowest.Round(time.Millisecond))
			return nil
		}
	}
}

// hog is another program's writer that holds the write lock for longer
// than the busy timeout, ten times.
func hog(path string) error {
	conn, err := sql.Open("sqlite", path+"?_txlock=immediate&_busy_timeout=60000")
	if err != nil {
		return err
	}
	defer conn.Close()
	for range 10 {
		tx, err := conn.Begin()
		if err != nil {
			return err
		}
		time.Sleep(4 * helperBusyTimeout)
		if err := tx.Commit(); err != nil {
			return err
		}
		time.Sleep(helperBusyTimeout)
	}
	return nil
}

// stay is a reader that begins a read transaction, reads a row, says ready
// and stays in the transaction until stop: an export whose client stopped
// reading, a paused iteration.
func stay(path string, stop <-chan struct{}) error {
	conn, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	var n int64
	if err := tx.QueryRow("SELECT count(*) FROM record_history").Scan(&n); err != nil {
		return err
	}
	fmt.Println("ready")
	<-stop
	return nil
}

// helperBusyTimeout is the busy timeout of the helpers' DBs: short, so
// that the hog holds the lock for longer.
const helperBusyTimeout = 50 * time.Millisecond

// helperRounds is the cycler's rounds, and a writer goroutine's stores are
// helperRounds*25: about as long.
const helperRounds = 20

// helper is another process on the file: the test binary re-executed.
type helper struct {
	role   string
	cmd    *exec.Cmd
	stdin  io.Closer
	stderr *syncbuf.Buffer
	done   chan error
	once   sync.Once
	err    error
}

// startHelper runs the test binary as another process in role on path,
// waits until it is ready, and returns a func that stops it (closes its
// stdin) and fails the test if it failed.
// execSQL runs one statement on the file as another program would (no
// rechist: database/sql with SQLite's defaults), says ready, and waits.
func execSQL(path, stmt string, stop <-chan struct{}) error {
	conn, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer conn.Close()
	res, err := conn.Exec(stmt)
	if err != nil {
		return err
	}
	n, _ := res.RowsAffected()
	fmt.Println("ready")
	fmt.Fprintln(os.Stderr, "rows affected:", n)
	<-stop
	return nil
}

func startHelper(t *testing.T, role, path string) (stop func()) {
	t.Helper()
	h := startHelperProcess(t, role, path)
	return func() {
		h.stdin.Close()
		h.wait(t)
	}
}

// startHelperProcess starts the helper and waits until it is ready; the
// test ends it if it is still running then.
func startHelperProcess(t *testing.T, role, path string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+role, helperEnv+"_PATH="+path)
	if i := strings.IndexByte(role, ':'); i > 0 { // exec:STATEMENT
		cmd.Env = append(os.Environ(), helperEnv+"="+role[:i], helperEnv+"_PATH="+path, helperEnv+"_SQL="+role[i+1:])
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	h := &helper{role: role, cmd: cmd, stdin: stdin, stderr: &syncbuf.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = h.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err == nil && line != "ready\n" {
			err = fmt.Errorf("helper said %q", line)
		}
		ready <- err
		_, _ = io.Copy(io.Discard, stdout)
		h.done <- cmd.Wait()
	}()
	select {
	case err := <-ready:
		if err != nil {
			cmd.Process.Kill()
			t.Fatalf("helper %s: %v\n%s", role, err, h.stderr.String())
		}
	case <-time.After(helperLimit):
		cmd.Process.Kill()
		t.Fatalf("helper %s not ready within %v\n%s", role, helperLimit, h.stderr.String())
	}
	t.Cleanup(func() {
		h.stdin.Close()
		h.wait(t)
	})
	return h
}

// helperLimit bounds every wait for a helper process.
const helperLimit = 2 * time.Minute

// wait waits for the helper to end (at most helperLimit, then it is
// killed) and fails the test if it failed.
func (h *helper) wait(t *testing.T) {
	t.Helper()
	h.once.Do(func() {
		select {
		case h.err = <-h.done:
		case <-time.After(helperLimit):
			h.cmd.Process.Kill()
			h.err = fmt.Errorf("did not end within %v", helperLimit)
		}
		if h.err != nil {
			t.Errorf("helper %s: %v\n%s", h.role, h.err, h.stderr.String())
		} else {
			t.Logf("helper %s: %s", h.role, h.stderr.String())
		}
	})
}

// One process writes, another queries back to back. The read gate only
// holds this process's readers back, so before, the other process's
// queries always held a WAL read mark, the WAL never started over, and it
// grew without bound (3.6 GB in 40 s). The writer's pass now uses
// wal_checkpoint(RESTART), which waits the few milliseconds until every
// reader reads the database file alone, so the WAL starts over: it stays
// within a few restart thresholds.
func TestWALStaysBoundedWhileAnotherProcessReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	const restartPages = 1024 // 4 MiB of WAL
	db := openTestAt(t, path, core.Config{Synchronous: core.SyncNormal, WALRestartPages: restartPages, CheckpointInterval: time.Millisecond})
	mustInsert(t, db, core.Row{Name: "r000", ValueJSON: "0", StoredAt: 0})
	startHelper(t, "reader", path)

	var maxWAL atomic.Int64
	sample := func() {
		if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > maxWAL.Load() {
			maxWAL.Store(fi.Size())
		}
	}
	// Under the race detector both processes run ~10x slower: a quarter of
	// the rows, and a quarter of the bound, which still stands at half of
	// what those rows leave when the WAL never starts over.
	goroutines, each, scale := 16, 6000, int64(4)
	if raceEnabled {
		each, scale = 1500, 1
	}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				row := core.Row{Name: fmt.Sprintf("r%03d", (g*each+i)%300), ValueJSON: `{"v":1}`, StoredAt: int64(i)}
				if err := db.Insert(context.Background(), []core.Row{row}); err != nil {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					sample()
				}
			}
		})
	}
	wg.Wait()
	sample()
	st := db.Stats()
	// The WAL also grows for as long as one of the other process's read
	// transactions lasts, which a loaded machine stretches (77 MB once with
	// the rest of the test suite running beside it, 100 MB with four more
	// builds and benchmarks on the two cores): the bound leaves room for
	// that, and is still well under the 200 MB this stream leaves when the
	// WAL never starts over, which also shows as no rewinds at all.
	bound := 8 * scale * restartPages * 4096
	t.Logf("%d rows in %d batches; %d rewinds; largest WAL %d KiB (bound %d KiB)",
		st.RowsWritten, st.Batches, st.WALRewinds, maxWAL.Load()>>10, bound>>10)
	if st.WALRewinds == 0 {
		t.Fatalf("the WAL never started over while another process read (largest %d KiB)", maxWAL.Load()>>10)
	}
	if maxWAL.Load() > bound {
		t.Fatalf("the WAL grew to %d KiB while another process read; bound %d KiB", maxWAL.Load()>>10, bound>>10)
	}
}

// Two writer processes, a third that opens, stores 50 rows and closes in a
// loop, a reader, and another program that now and then holds the write
// lock for four busy timeouts share one file. Before, Stores, StoreManys
// and Cleanups failed with "database is locked" once a lock outlasted the
// busy timeout (and the batch's requests were retried one by one, each
// waiting the whole busy timeout again), and Close's TRUNCATE checkpoint
// held other writers up while it waited. Now a BEGIN that meets the lock
// tries again until the batch's deadline (or its caller's ctx), and Close
// waits at most 10 ms for its checkpoint: no call fails.
func TestWriterProcessesShareOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	db := openTestAt(t, path, core.Config{}) // creates and migrates the file
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	stopReader := startHelper(t, "reader", path)
	workers := []*helper{
		startHelperProcess(t, "writer", path),
		startHelperProcess(t, "writer", path),
		startHelperProcess(t, "cycler", path),
		startHelperProcess(t, "hog", path),
	}
	for _, w := range workers {
		w.wait(t) // each ends by itself once its work is done
	}
	stopReader()
	var result string
	check, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	if err := check.QueryRow("PRAGMA integrity_check").Scan(&result); err != nil || result != "ok" {
		t.Fatalf("integrity_check: %q, %v", result, err)
	}
	var n int
	if err := check.QueryRow("SELECT COUNT(*) FROM record_history").Scan(&n); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows in the file", n)
}
