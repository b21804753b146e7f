package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// One push copies every row under the prefix, byte for byte with its time,
// and says so in one line; the next push copies nothing; the source is not
// changed.
func TestSyncOnce(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, `{"name":"temp.a","value":{"c": 1.50},"at":1764060000000}
{"name":"temp.b","value":[1, "x"],"at":1764060000001}
`, "--db", "src.db", "ingest")
	before, err := os.ReadFile(filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	out := ok(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db", "--prefix", "gw1.")
	if !regexp.MustCompile(`^synced src.db to dst.db: copied 2 rows, skipped 0, missed 0; cursor 2 of source last 2; \S+ \(\d+ rows/s\)\n$`).MatchString(out) {
		t.Fatalf("sync output:\n%s", out)
	}
	got := ok(t, dir, "", "--db", "dst.db", "query", "gw1.*", "--json", "--utc")
	want := strings.ReplaceAll(ok(t, dir, "", "--db", "src.db", "query", "*", "--json", "--utc"), `{"name":"`, `{"name":"gw1.`)
	if got != want || !strings.Contains(got, `"at":"2025-11-25T08:40:00.001Z"`) {
		t.Fatalf("destination holds\n%s\nwant\n%s", got, want)
	}
	if out := ok(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db", "--prefix", "gw1."); !strings.Contains(out, "copied 0 rows") {
		t.Fatalf("second sync:\n%s", out)
	}
	after, err := os.ReadFile(filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("sync changed the source file")
	}
	// RECHIST_SYNC_TO names the destination.
	r := runEnv(t, dir, "", []string{"RECHIST_SYNC_TO=env.db"}, "--db", "src.db", "sync", "--pattern", "temp.a")
	if r.code != 0 || !strings.Contains(r.stdout, "copied 1 row, skipped 1") {
		t.Fatalf("sync with RECHIST_SYNC_TO and --pattern: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestSyncRefuses(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, `{"name":"a","value":1}`+"\n", "--db", "src.db", "ingest")
	rustFile(t, filepath.Join(dir, "old.db"))
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--db", "src.db", "sync"}, 2, "--to (or RECHIST_SYNC_TO) is required"},
		{[]string{"--db", "src.db", "sync", "--new-identity", "--prefix", "x."}, 2, "--new-identity pushes nothing"},
		{[]string{"--db", "src.db", "sync", "--to", "./src.db"}, 2, "--to names the source itself"},
		{[]string{"--db", "src.db", "sync", "--to", "x.db", "--every", "5s"}, 2, "--every needs --follow"},
		{[]string{"--db", "src.db", "sync", "--to", "x.db", "--batch", "0"}, 2, "--batch must be at least 1"},
		{[]string{"--db", "missing.db", "sync", "--to", "x.db"}, 1, "no database at missing.db"},
		{[]string{"--db", "old.db", "sync", "--to", "x.db"}, 1, "open it writable once: rechist --db old.db migrate up"},
	} {
		r := runCLI(t, dir, "", c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("rechist %v: exit %d, stderr %q; want exit %d and %q", c.args, r.code, r.stderr, c.code, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err == nil {
		t.Error("a refused sync created its destination")
	}
}

// A file copied to another device keeps its identity: once both copies
// have pushed rows of their own, the second is refused, with exit 1 and
// what to do, also with --follow.
func TestSyncRefusesACopiedSource(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, `{"name":"a","value":1}`+"\n", "--db", "src.db", "ingest")
	data, err := os.ReadFile(filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "copy.db"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	ok(t, dir, `{"name":"b","value":2}`+"\n", "--db", "src.db", "ingest")
	ok(t, dir, `{"name":"c","value":3}`+"\n", "--db", "copy.db", "ingest")
	ok(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db")
	for _, args := range [][]string{{"sync", "--to", "dst.db"}, {"sync", "--to", "dst.db", "--follow", "--every", "50ms"}} {
		r := runCLI(t, dir, "", append([]string{"--db", "copy.db"}, args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "another copy of this source file pushed its own rows") ||
			!strings.Contains(r.stderr, "give it an identity of its own") {
			t.Errorf("rechist %v on a copy: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
	// With an identity of its own, the copy pushes everything it holds,
	// once, under a prefix of its own.
	if out := ok(t, dir, "", "--db", "copy.db", "sync", "--new-identity"); !strings.Contains(out, "new sync identity") {
		t.Fatalf("--new-identity: %s", out)
	}
	if out := ok(t, dir, "", "--db", "copy.db", "sync", "--to", "dst.db", "--prefix", "copy."); !strings.Contains(out, "copied 2 rows") {
		t.Fatalf("the copy's first push under its new identity: %s", out)
	}
	if out := ok(t, dir, "", "--db", "dst.db", "latest", "copy.*", "--json"); strings.Count(out, "copy.") != 2 {
		t.Fatalf("the copy's rows on the destination:\n%s", out)
	}
}

// --follow pushes rows as they arrive with a line per push that copied
// something, says when the destination fails and when it is back, and
// exits 130 on Ctrl-C.
func TestSyncFollow(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, `{"name":"a","value":1}`+"\n", "--db", "src.db", "ingest")
	// The destination cannot be opened at first: its directory is a file.
	blocker := filepath.Join(dir, "out")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := command(dir, nil, "--db", "src.db", "sync", "--to", "out/dst.db", "--follow", "--every", "50ms")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	deadline := time.After(30 * time.Second)
	var seen []string
	expect := func(want string) {
		t.Helper()
		for {
			select {
			case l, open := <-lines:
				if !open {
					t.Fatalf("sync --follow ended; it printed:\n%s\n%s", strings.Join(seen, "\n"), stderr.String())
				}
				seen = append(seen, l)
				if strings.Contains(l, want) {
					return
				}
			case <-deadline:
				t.Fatalf("no line with %q within 30s; sync --follow printed:\n%s", want, strings.Join(seen, "\n"))
			}
		}
	}
	expect("following src.db")
	expect("push failed: ")
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	expect("recovered after ")
	expect("copied 1 row, skipped 0, missed 0; cursor 1 of source last 1")
	ok(t, dir, `{"name":"b","value":2}`+"\n{\"name\":\"c\",\"value\":3}\n", "--db", "src.db", "ingest")
	expect("copied 2 rows, skipped 0, missed 0; cursor 3 of source last 3")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(stderr.String(), "interrupted after 3 rows copied, 0 missed") {
		t.Fatalf("after Ctrl-C: %v, exit %d\n%s", err, code, stderr.String())
	}
	if got := ok(t, dir, "", "--db", "out/dst.db", "records", "--json"); strings.Count(got, "\n") != 3 {
		t.Fatalf("destination records:\n%s", got)
	}
}

// Rows the source deleted before they were sent are counted, first in
// the line.
func TestSyncShowsMissedRows(t *testing.T) {
	dir := t.TempDir()
	var in strings.Builder
	for i := range 10 {
		fmt.Fprintf(&in, `{"name":"r","value":%d,"at":%d}`+"\n", i, 1764060000000+int64(i))
	}
	ok(t, dir, in.String(), "--db", "src.db", "ingest")
	ok(t, dir, "", "--db", "src.db", "delete", "r", "--end", "1764060000003", "--yes")
	out := ok(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db")
	if !strings.Contains(out, ": MISSED 4 rows (deleted on the source before they were sent") ||
		!strings.Contains(out, "copied 6 rows, skipped 0, missed 4; cursor 10 of source last 10 (4 missed in all since the first sync)") {
		t.Fatalf("sync output:\n%s", out)
	}
}

// A device pushes to `rechist serve --writable --token` over HTTP: every
// row arrives once under the prefix, a second push copies nothing, a push
// without the token is refused with the server's reason, and --token is
// refused for a destination that is not a server.
func TestSyncToAServer(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, `{"name":"temp.a","value":{"c": 1.50},"at":1764060000000}
{"name":"temp.b","value":[1, "x"],"at":1764060000001}
`, "--db", "src.db", "ingest")
	ok(t, dir, "", "--db", "dst.db", "migrate", "up")
	url := startServe(t, dir, []string{"RECHIST_TOKEN=tok"}, "--db", "dst.db", "--writable")
	r := runEnv(t, dir, "", nil, "--db", "src.db", "sync", "--to", url)
	if r.code == 0 || !strings.Contains(r.stderr, "401") {
		t.Fatalf("sync without the token: exit %d\n%s", r.code, r.stderr)
	}
	out := ok(t, dir, "", "--db", "src.db", "sync", "--to", url, "--token", "tok", "--prefix", "gw1.")
	if !strings.HasPrefix(out, "synced src.db to "+url+": copied 2 rows, skipped 0, missed 0; cursor 2 of source last 2;") {
		t.Fatalf("sync output:\n%s", out)
	}
	out = ok(t, dir, "", "--db", "src.db", "sync", "--to", url, "--token", "tok", "--prefix", "gw1.")
	if !strings.Contains(out, "copied 0 rows") {
		t.Fatalf("second sync output:\n%s", out)
	}
	got := ok(t, dir, "", "--db", "dst.db", "query", "gw1.*", "--json", "--utc")
	want := strings.ReplaceAll(ok(t, dir, "", "--db", "src.db", "query", "*", "--json", "--utc"), `{"name":"`, `{"name":"gw1.`)
	if got != want {
		t.Fatalf("server holds:\n%s\nwant\n%s", got, want)
	}
	if r := runCLI(t, dir, "", "--db", "src.db", "sync", "--to", "other.db", "--token", "tok"); r.code != 2 || !strings.Contains(r.stderr, "--token is for an https:// destination") {
		t.Fatalf("--token with a file: exit %d\n%s", r.code, r.stderr)
	}
}
