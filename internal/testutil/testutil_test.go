package testutil

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

func TestReferenceMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "anything\nat all", true},
		{"a*", "a", true},
		{"a*", "ab", true},
		{"a*", "ba", false},
		{"*b", "ab", true},
		{"a*c", "abc", true},
		{"a*c", "abcd", false},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "acb", false},
		{"**a**", "a", true},
		{"a?c", "abc", false},
		{"a?c", "a?c", true},
		{"a_c", "abc", false},
		{"a%c", "abbc", false},
		{"[ab]*", "a", false},
		{"[ab]*", "[ab]x", true},
		{`a\*`, `a\b`, true},
		{`a\*`, `a*`, false},
		{"a.b", "axb", false},
		{"Acc*", "acc", false},
		{"acc", "ACC", false},
		{"é*ü", "éxü", true},
		{"é*", "e", false},
		{"a\x00*", "a\x00b", true},
		{"a\x00*", "a", false},
		{"*", "\xff", false},
		{"\xff*", "\xff", false},
		{"\ufffd", "\xff", false},
	} {
		if got := ReferenceMatch(tc.pattern, tc.name); got != tc.want {
			t.Errorf("ReferenceMatch(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

// fakeTB records a Fatalf and ends the goroutine that called it, as
// testing's Fatalf does.
type fakeTB struct {
	testing.TB
	fatal string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestWaitForReturnsOnceTheConditionHolds(t *testing.T) {
	start := time.Now()
	WaitFor(t, "the condition", func() bool { return time.Since(start) > 10*time.Millisecond })
}

func TestWaitForFailsAfterItsLimit(t *testing.T) {
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		waitFor(f, "something that never happens", func() bool { return false }, 50*time.Millisecond)
	}()
	select {
	case <-done:
	case <-time.After(WaitLimit):
		t.Fatal("waitFor did not give up")
	}
	if elapsed := time.Since(start); elapsed < 50*time.Millisecond {
		t.Errorf("gave up after %v, before its limit", elapsed)
	}
	if !strings.Contains(f.fatal, "gave up waiting for something that never happens") {
		t.Errorf("Fatalf(%q)", f.fatal)
	}
}

// RustSchema runs on a new file and makes the Rust crate's table, which
// rechist then opens (OpenDB); IntegrityReport says "ok" of the file, and
// something else once its header is overwritten.
func TestRustSchemaOpenDBAndIntegrity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rust.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(RustSchema); err != nil {
		t.Fatalf("RustSchema: %v", err)
	}
	var mode string
	if err := raw.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q, %v", mode, err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	db, got := OpenDB(t, path)
	if got != path {
		t.Fatalf("OpenDB returned path %s, want %s", got, path)
	}
	StoreAt(t, rechist.NewRepo[int](db), "x", 1, MS(1))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	IntegrityCheck(t, path)

	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("garbage!"), 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if report := IntegrityReport(t, path); report == "ok" {
		t.Fatal("IntegrityReport of a file with a damaged header: ok")
	}
}

func TestOpenDBOnANewFile(t *testing.T) {
	db, path := OpenDB(t, "")
	if filepath.Base(path) != "history.db" {
		t.Fatalf("path %s", path)
	}
	StoreAt(t, rechist.NewRepo[string](db), "x", "v", MS(2))
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}
