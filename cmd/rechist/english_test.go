package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// One of a thing is singular everywhere: rows, lines, records, cities,
// steps.
func TestSingularAndPlural(t *testing.T) {
	dir := t.TempDir()
	out := ok(t, dir, "", "demo", "--days", "1", "--cities", "1", "--interval", "24h")
	if !strings.HasPrefix(out, "writing 2 rows: 1 city × 2 records, 1 step of 24h0m0s over the last 1 day, those not yet in ") || !strings.Contains(out, "stored 2 rows in") {
		t.Errorf("demo:\n%s", out)
	}
	if out := ok(t, dir, "", "stats", "--top", "1"); !strings.Contains(out, "top 1 record by rows:") {
		t.Errorf("stats --top 1:\n%s", out)
	}
	if out := ok(t, dir, `{"name":"a","value":1,"at":1000}`+"\n", "ingest"); !strings.HasPrefix(out, "stored 1 row from 1 line in") {
		t.Errorf("ingest of one line: %q", out)
	}
	r := runCLI(t, dir, `{"name":"a"}`+"\n", "ingest")
	if !strings.HasPrefix(r.stdout, "stored 0 rows from 1 line in") || !strings.Contains(r.stdout, "; 1 line failed") ||
		!strings.Contains(r.stderr, "rechist: 1 of 1 line failed") {
		t.Errorf("ingest of one bad line:\n%s%s", r.stdout, r.stderr)
	}
	if out := ok(t, dir, "", "cleanup", "--older-than", "365d"); !strings.HasPrefix(out, "deleted 1 row stored before") {
		t.Errorf("cleanup of one row: %q", out)
	}
}

// No message says "rechist:" twice or names its subject twice.
func TestNoRepeatedPrefixes(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "afile"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"ingest", "adir"}, "rechist: adir is a directory, not a JSON Lines file\n"},
		{[]string{"--db", "adir", "ingest", "-"}, "adir is a directory, not a database file"},
		{[]string{"--db", "adir", "demo"}, "adir is a directory, not a database file"},
		{[]string{"--db", "adir", "records"}, "adir is a directory, not a database file"},
		{[]string{"--db", "adir", "stats"}, "adir is a directory, not a database file"},
		{[]string{"bench", "--dir", "afile", "--quick", "--no-progress"}, "rechist: bench: "},
	} {
		r := runCLI(t, dir, "", tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.says) {
			t.Errorf("rechist %q: exit %d, stderr %q; want it to say %q", tc.args, r.code, r.stderr, tc.says)
		}
		if n := strings.Count(r.stderr, "rechist: "); n != 1 {
			t.Errorf("rechist %q says \"rechist: \" %d times: %q", tc.args, n, r.stderr)
		}
		seen := map[string]bool{}
		first, _, _ := strings.Cut(r.stderr, "\n")
		for _, part := range strings.Split(first, ": ") {
			if seen[part] {
				t.Errorf("rechist %q says %q twice: %q", tc.args, part, r.stderr)
			}
			seen[part] = true
		}
	}
}

// Help: -n shows as -n; bench does not list --db, which it does not use;
// every command lists --version's flag in the main help.
func TestHelpFlags(t *testing.T) {
	dir := t.TempDir()
	if out := ok(t, dir, "", "latest", "-h"); !regexp.MustCompile(`(?m)^\s+-n, --limit-per-record=N\s`).MatchString(out) {
		t.Errorf("latest -h:\n%s", out)
	}
	if out := ok(t, dir, "", "query", "-h"); !regexp.MustCompile(`(?m)^\s+-n, --limit-per-record=N\s`).MatchString(out) {
		t.Errorf("query -h:\n%s", out)
	}
	if out := ok(t, dir, "", "bench", "-h"); strings.Contains(out, "--db=") || !strings.Contains(out, "--records=N") {
		t.Errorf("bench -h lists --db, which bench does not use:\n%s", out)
	}
	if out := ok(t, dir, "", "--help"); !strings.Contains(out, "--db=PATH") || !strings.Contains(out, "--version") {
		t.Errorf("--help:\n%s", out)
	}
	if out := ok(t, dir, "", "latest", "-h"); !strings.Contains(out, "--db=PATH") {
		t.Errorf("latest -h lost --db:\n%s", out)
	}
}

// bench refuses figures that cannot run, before it builds anything.
func TestBenchRefusesZeros(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"bench", "--records", "0"},
		{"bench", "--rows", "0"},
		{"bench", "--bulk", "0"},
		{"bench", "--runs", "0"},
		{"bench", "--for", "0s"},
		{"bench", "--writers", "0"},
		{"bench", "--big-rows", "-1"},
	} {
		// Should one of them run, it runs small, in dir, and not for long.
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		cmd := exec.CommandContext(ctx, bin, append(args, "--quick", "--only", "query", "--dir", dir, "--no-progress")...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), args[1]) || stdout.Len() != 0 {
			t.Errorf("rechist %q: %v, stdout %q, stderr %q; want exit 2 naming %s", args, err, &stdout, &stderr, args[1])
		}
	}
}

// Ctrl-C during the demo: it stops, says how many rows it stored (all of
// them in the file), and exits 130.
func TestDemoInterrupted(t *testing.T) {
	dir := t.TempDir()
	cmd := command(dir, nil, "demo", "--days", "365", "--interval", "1s")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt once some rows are stored.
	rows := func() int64 {
		var s struct{ Rows int64 }
		if _, err := os.Stat(filepath.Join(dir, "data", "history.db")); err != nil {
			return 0
		}
		if r := runCLI(t, dir, "", "stats", "--json", "--top", "0"); r.code == 0 {
			_ = json.Unmarshal([]byte(r.stdout), &s)
		}
		return s.Rows
	}
	for deadline := time.Now().Add(20 * time.Second); rows() == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the demo stored nothing in 20s")
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("demo did not stop on SIGINT\nstdout: %s\nstderr: %s", &stdout, &stderr)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("demo after SIGINT: %v, want exit status 130\n%s", err, &stderr)
	}
	m := regexp.MustCompile(`^rechist: interrupted after (\d+) rows stored; run demo again to top up the rest\n$`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("demo after SIGINT: stderr %q", &stderr)
	}
	if n := rows(); m[1] != strconv.FormatInt(n, 10) {
		t.Errorf("demo says it stored %s rows; the file holds %d", m[1], n)
	}
}
