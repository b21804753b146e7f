package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The demo's closing hint is a command the user can run the way they ran
// the demo: the program as they typed it, or go run, with their --db.
func TestDemoHintRunsAsInvoked(t *testing.T) {
	dir := t.TempDir()
	hint := func(t *testing.T, cmd *exec.Cmd) string {
		t.Helper()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v: %v", cmd.Args, err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return lines[len(lines)-1]
	}
	demo := []string{"demo", "--days", "1", "--cities", "1", "--interval", "1h"}

	if got, want := hint(t, command(dir, nil, demo...)), "next: "+shellQuote(bin)+" latest 'accuracy::*' -n 3   or   "+shellQuote(bin)+" stats"; got != want {
		t.Errorf("run as %s:\n got %q\nwant %q", bin, got, want)
	}

	// As the shell runs a program it found in PATH: argv[0] is its name.
	cmd := command(dir, nil, demo...)
	cmd.Args[0] = "rechist"
	if got, want := hint(t, cmd), "next: rechist latest 'accuracy::*' -n 3   or   rechist stats"; got != want {
		t.Errorf("run from PATH:\n got %q\nwant %q", got, want)
	}

	// --db on the command line comes along; RECHIST_DB does not need to.
	cmd = command(dir, nil, append([]string{"--db", "my data/h.db"}, demo...)...)
	cmd.Args[0] = "rechist"
	if got, want := hint(t, cmd), "next: rechist --db 'my data/h.db' latest 'accuracy::*' -n 3   or   rechist --db 'my data/h.db' stats"; got != want {
		t.Errorf("run with --db:\n got %q\nwant %q", got, want)
	}
	cmd = command(dir, []string{"RECHIST_DB=env.db"}, demo...)
	cmd.Args[0] = "rechist"
	if got, want := hint(t, cmd), "next: rechist latest 'accuracy::*' -n 3   or   rechist stats"; got != want {
		t.Errorf("run with RECHIST_DB:\n got %q\nwant %q", got, want)
	}

	// go run builds the program into a go-build temporary directory.
	exeDir := filepath.Join(dir, "go-build1234567", "b001", "exe")
	if err := os.MkdirAll(exeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	goRun := filepath.Join(exeDir, "rechist")
	if err := os.WriteFile(goRun, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd = command(dir, nil, demo...)
	cmd.Path, cmd.Args[0] = goRun, goRun
	if got, want := hint(t, cmd), "next: go run ./cmd/rechist latest 'accuracy::*' -n 3   or   go run ./cmd/rechist stats"; got != want {
		t.Errorf("run by go run:\n got %q\nwant %q", got, want)
	}
}
