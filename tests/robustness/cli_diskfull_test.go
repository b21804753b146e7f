package robustness

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// On a full disk the command line says what to do: cleanup that deleting
// needs room first and compact gives it back, ingest to free space; each
// exits 1 with one line. It fills a 4 MiB tmpfs, so it runs only with
// RECHIST_TEST_PRIVILEGED=1.
func TestFaultDiskFullCommandsSayWhatToDo(t *testing.T) {
	dir := mountTmpfs(t, "4m")
	bin := filepath.Join(t.TempDir(), "rechist")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/rechist").CombinedOutput(); err != nil {
		t.Fatalf("building rechist: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "history.db")
	run := func(stdin string, args ...string) (int, string) {
		cmd := exec.Command(bin, append([]string{"--db", db}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), errOut.String()
	}
	if code, stderr := run("", "demo", "--days", "1", "--cities", "2"); code != 0 {
		t.Fatalf("demo: exit %d: %s", code, stderr)
	}
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = filler.Write(make([]byte, 4096))
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling the tmpfs: %v", err)
	}
	// Room for the WAL index and a few pages: the commands open, then
	// run out.
	st, err := filler.Stat()
	if err == nil {
		err = filler.Truncate(st.Size() - 64<<10)
	}
	if err != nil {
		t.Fatal(err)
	}
	filler.Close()
	line := strings.Repeat(`{"name":"fill","value":"`+strings.Repeat("x", 1000)+`"}`+"\n", 200)
	for _, tc := range []struct {
		stdin string
		args  []string
		says  string
	}{
		{line, []string{"ingest"}, "the disk is full: free some disk space and run it again"},
		{"", []string{"cleanup", "--older-than", "1m"}, "the disk is full: deleting writes to the database's WAL first"},
	} {
		code, stderr := run(tc.stdin, tc.args...)
		if code != 1 || !strings.Contains(stderr, "database or disk is full") || !strings.Contains(stderr, tc.says) {
			t.Errorf("rechist %q on a full disk: exit %d, stderr %q; want 1 saying %q", tc.args, code, stderr, tc.says)
		}
	}
}
