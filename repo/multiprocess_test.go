package repo

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist/internal/core"
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
	db, err := core.Open(context.Background(), Driver, path, path, core.Config{})
	if err != nil {
		return err
	}
	defer db.Close()
	stop := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
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

// startHelper runs the test binary as another process in role on path,
// waits until it is ready, and returns a func that stops it and reports
// its failure.
func startHelper(t *testing.T, role, path string) (stop func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+role, helperEnv+"_PATH="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr safeBuffer
	cmd.Stderr = &stderr
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
	}()
	select {
	case err := <-ready:
		if err != nil {
			cmd.Process.Kill()
			t.Fatalf("helper %s: %v\n%s", role, err, stderr.String())
		}
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("helper %s not ready in a minute\n%s", role, stderr.String())
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			stdin.Close()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("helper %s: %v\n%s", role, err, stderr.String())
				}
				t.Logf("helper %s: %s", role, stderr.String())
			case <-time.After(time.Minute):
				cmd.Process.Kill()
				t.Errorf("helper %s did not stop in a minute", role)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

type safeBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
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
	const goroutines, each = 16, 2500
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
	bound := int64(8 * restartPages * 4096)
	t.Logf("%d rows in %d batches; %d rewinds; largest WAL %d KiB (bound %d KiB)",
		st.RowsWritten, st.Batches, st.WALRewinds, maxWAL.Load()>>10, bound>>10)
	if maxWAL.Load() > bound {
		t.Fatalf("the WAL grew to %d KiB while another process read; bound %d KiB", maxWAL.Load()>>10, bound>>10)
	}
}
