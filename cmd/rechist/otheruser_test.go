package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nobody is the user the test runs the reading commands as, when it runs
// as root (as CI does).
const nobody = 65534

// asReader returns cmd made to run as a user who may read the test's files
// but not write its directory: nobody when the test runs as root, else the
// test's own user with the directory made read-only (see readOnlyDir).
func asReader(cmd *exec.Cmd) *exec.Cmd {
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	}
	return cmd
}

// readOnlyDir makes dir and its parents up to the temporary root
// traversable by others, and dir itself not writable but by root, until
// the test ends; the binary is copied into it so that another user can
// run it.
func readOnlyDir(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "rechist")
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	for d := dir; d != filepath.Dir(os.TempDir()) && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
	}
	return exe
}

// The reading commands work for a user who may read the file but not
// write its directory: after the writer has closed (no -wal, no -shm, which
// SQLite cannot create then: the file is read immutable), and while a
// writer runs (its -shm, readable). They create nothing. Before, every one
// failed with "attempt to write a readonly database (1544)".
func TestReadingCommandsWorkForAnotherUser(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, "", "--db", "h.db", "demo", "--days", "1", "--cities", "2")
	exe := readOnlyDir(t, dir)
	before := listDir(t, dir)
	reads := [][]string{
		{"records"},
		{"latest", "*"},
		{"query", "*", "--since", "1d", "-n", "1"},
		{"agg", "temperature::*", "--every", "1h", "--since", "1d", "--field", "celsius"},
		{"stats"},
		{"migrate", "status"},
	}
	check := func(when string) {
		t.Helper()
		for _, args := range reads {
			cmd := asReader(exec.Command(exe, append([]string{"--db", filepath.Join(dir, "h.db")}, args...)...))
			cmd.Dir = dir
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			if err := cmd.Run(); err != nil || out.Len() == 0 {
				t.Errorf("%s: rechist %q as another user: %v\nstdout: %s\nstderr: %s", when, args, err, out.String(), errOut.String())
			}
		}
	}
	check("no writer")
	if got := listDir(t, dir); got != before {
		t.Errorf("the reading commands changed the directory: %s, was %s", got, before)
	}

	// A writer (ingest, as the file's owner, waiting for its input) holds
	// the file open in WAL mode: its -shm is there to read.
	w := command(dir, nil, "--db", "h.db", "ingest", "-")
	in, err := w.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(in, `{"name":"w::a","value":1}`+"\n")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(listDir(t, dir), "h.db-shm") && time.Now().Before(deadline) && w.ProcessState == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(listDir(t, dir), "h.db-shm") {
		in.Close()
		w.Wait()
		t.Fatalf("the writer did not open the file in WAL mode: %s", listDir(t, dir))
	}
	check("a writer running")
	in.Close()
	if err := w.Wait(); err != nil {
		t.Fatalf("the writer: %v", err)
	}
}

// listDir names the entries of dir, sorted.
func listDir(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}
