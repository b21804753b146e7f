package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist/internal/testutil/syncbuf"
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
			!strings.Contains(r.stderr, "Give this file an identity of its own") {
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

// Rows the source deleted after the destination first received it, before
// they were sent, are MISSED, first in the line; rows it no longer had at
// its first push are not: the first push says how many, neutrally.
func TestSyncShowsMissedRows(t *testing.T) {
	dir := t.TempDir()
	ingest := func(from, to int) {
		var in strings.Builder
		for i := from; i < to; i++ {
			fmt.Fprintf(&in, `{"name":"r","value":%d,"at":%d}`+"\n", i, 1764060000000+int64(i))
		}
		ok(t, dir, in.String(), "--db", "src.db", "ingest")
	}
	ingest(0, 10)
	ok(t, dir, "", "--db", "src.db", "delete", "r", "--end", "1764060000003", "--yes")
	out := ok(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db")
	if strings.Contains(out, "MISSED") || strings.Contains(out, "retention") ||
		!strings.Contains(out, "the source no longer had 4 rows of its ids up to 10 when this destination first received it (deleted before then: not missed), copied 6 rows, skipped 0, missed 0; cursor 10 of source last 10;") {
		t.Fatalf("first sync after a delete:\n%s", out)
	}
	ingest(10, 20)
	ok(t, dir, "", "--db", "src.db", "delete", "r", "--end", "1764060000012", "--yes")
	out = ok(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db")
	if !strings.Contains(out, ": MISSED 3 rows (deleted on the source after this destination first received it and before they were sent") ||
		!strings.Contains(out, "copied 7 rows, skipped 0, missed 3; cursor 20 of source last 20 (3 missed in all since the first sync)") ||
		strings.Contains(out, "no longer had") {
		t.Fatalf("sync after rows were deleted unsent:\n%s", out)
	}
}

// The destination remembers --pattern and --prefix with the cursor: a push
// with others is refused (exit 2, nothing sent) and says what to do, to a
// file and to a server; after sync forget the new ones work.
func TestSyncRefusesAChangedPatternOrPrefix(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, `{"name":"a.x","value":1}`+"\n"+`{"name":"b.x","value":2}`+"\n", "--db", "src.db", "ingest")
	ok(t, dir, "", "--db", "srv.db", "migrate", "up")
	url := startServe(t, dir, []string{"RECHIST_TOKEN=tok"}, "--db", "srv.db", "--writable")
	for _, to := range []string{"dst.db", url} {
		ok(t, dir, "", "--db", "src.db", "sync", "--to", to, "--token", tokenFor(to, url), "--pattern", "a.*", "--prefix", "gw.")
		for _, args := range [][]string{{"--pattern", "*", "--prefix", "gw."}, {"--pattern", "a.*"}, {"--pattern", "a.*", "--prefix", "gw2."}} {
			r := runCLI(t, dir, "", append([]string{"--db", "src.db", "sync", "--to", to, "--token", tokenFor(to, url)}, args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, `with pattern "a.*" and prefix "gw."`) || !strings.Contains(r.stderr, "Nothing was sent") ||
				!strings.Contains(r.stderr, "sync forget") {
				t.Errorf("sync to %s with %v after a.* under gw.: exit %d\n%s%s", to, args, r.code, r.stdout, r.stderr)
			}
		}
	}
	if got := ok(t, dir, "", "--db", "dst.db", "records", "--json"); strings.Count(got, "\n") != 1 || !strings.Contains(got, "gw.a.x") {
		t.Fatalf("the file destination holds:\n%s", got)
	}
	if got := ok(t, dir, "", "--db", "srv.db", "records", "--json"); strings.Count(got, "\n") != 1 || !strings.Contains(got, "gw.a.x") {
		t.Fatalf("the server holds:\n%s", got)
	}
	ids := sources(t, dir, "dst.db")
	if len(ids) != 1 {
		t.Fatalf("sources of dst.db: %q", ids)
	}
	ok(t, dir, "", "--db", "dst.db", "sync", "forget", ids[0], "--yes")
	if out := ok(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db", "--prefix", "all."); !strings.Contains(out, "copied 2 rows") {
		t.Fatalf("sync under a new prefix after forget:\n%s", out)
	}
}

// tokenFor is the --token for destination to: the server's, or none.
func tokenFor(to, url string) string {
	if to == url {
		return "tok"
	}
	return ""
}

// sources lists the source ids of sync sources on the destination
// dir/path, the first column of its sync sources.
func sources(t *testing.T, dir, path string) []string {
	t.Helper()
	out := ok(t, dir, "", "--db", path, "sync", "sources")
	if strings.Contains(out, "received rows from no sync source") {
		return nil
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "SOURCE ") {
		t.Fatalf("sync sources of %s:\n%s", path, strings.Join(lines, "\n"))
	}
	var ids []string
	for _, l := range lines[1:] {
		ids = append(ids, strings.Fields(l)[0])
	}
	return ids
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

// Two files with one identity (a copy and its original) both store rows
// and push them under the same prefix: the second is refused and told to
// take a new identity; with it, its next push goes on from where the two
// parted. Whichever pushed first, whichever file is refused (and also when
// both take new identities), the destination ends with every row of both
// files once, and both go on pushing.
func TestSyncCopiedSourceTakesANewIdentity(t *testing.T) {
	for _, c := range []struct {
		name  string
		first string // the file that pushes first
		renew []string
	}{
		{"copy pushed first", "copy.db", []string{"src.db"}},
		{"original pushed first", "src.db", []string{"copy.db"}},
		{"copy pushed first, both take new identities", "copy.db", []string{"copy.db", "src.db"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			ok(t, dir, `{"name":"shared","value":1}`+"\n"+`{"name":"shared","value":2}`+"\n", "--db", "src.db", "ingest")
			data, err := os.ReadFile(filepath.Join(dir, "src.db"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "copy.db"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			ok(t, dir, `{"name":"copy","value":3}`+"\n", "--db", "copy.db", "ingest")
			ok(t, dir, `{"name":"orig","value":4}`+"\n", "--db", "src.db", "ingest")
			second := map[string]string{"src.db": "copy.db", "copy.db": "src.db"}[c.first]
			ok(t, dir, "", "--db", c.first, "sync", "--to", "dst.db", "--prefix", "gw.")
			r := runCLI(t, dir, "", "--db", second, "sync", "--to", "dst.db", "--prefix", "gw.")
			if r.code != 1 || !strings.Contains(r.stderr, "rechist --db "+second+" sync --new-identity") ||
				!strings.Contains(r.stderr, "goes on from where the two files parted") {
				t.Fatalf("the second push: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			for _, f := range c.renew {
				if out := ok(t, dir, "", "--db", f, "sync", "--new-identity"); !strings.Contains(out, "new sync identity") {
					t.Fatalf("--new-identity on %s: %s", f, out)
				}
			}
			for _, f := range []string{c.first, second} {
				out := ok(t, dir, "", "--db", f, "sync", "--to", "dst.db", "--prefix", "gw.")
				if f == second && !strings.Contains(out, "copied 1 row,") {
					t.Errorf("the refused file's push under its new identity copied more than its own row:\n%s", out)
				}
			}
			// Both go on.
			ok(t, dir, `{"name":"copy","value":5}`+"\n", "--db", "copy.db", "ingest")
			ok(t, dir, `{"name":"orig","value":6}`+"\n", "--db", "src.db", "ingest")
			for _, f := range []string{"src.db", "copy.db"} {
				if out := ok(t, dir, "", "--db", f, "sync", "--to", "dst.db", "--prefix", "gw."); !strings.Contains(out, "copied 1 row,") {
					t.Errorf("the next push of %s:\n%s", f, out)
				}
			}
			got := ok(t, dir, "", "--db", "dst.db", "query", "*", "--json", "--utc")
			var values []string
			for _, l := range parseJSONLines(t, got) {
				values = append(values, fmt.Sprintf("%s=%s", l.Name, l.Value))
			}
			slices.Sort(values)
			want := []string{"gw.copy=3", "gw.copy=5", "gw.orig=4", "gw.orig=6", "gw.shared=1", "gw.shared=2"}
			if !slices.Equal(values, want) {
				t.Fatalf("the destination holds %q, want %q", values, want)
			}
		})
	}
}

// sync sources lists what a destination received from each source; sync
// forget says what it would do, changes nothing without --yes, and with it
// forgets the source (its rows stay), after which the source's next push
// sends everything it holds.
func TestSyncForget(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, `{"name":"a","value":1}`+"\n"+`{"name":"b","value":2}`+"\n", "--db", "src.db", "ingest")
	if out := ok(t, dir, "", "--db", "dst.db", "migrate", "up"); out == "" {
		t.Fatal("migrate up printed nothing")
	}
	if out := ok(t, dir, "", "--db", "dst.db", "sync", "sources"); !strings.Contains(out, "received rows from no sync source") {
		t.Fatalf("sync sources of an empty destination:\n%s", out)
	}
	ok(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db", "--prefix", "gw.", "--pattern", "a")
	out := ok(t, dir, "", "--db", "dst.db", "sync", "sources")
	if !regexp.MustCompile(`(?m)^SOURCE +CURSOR +SENT +MISSED +GONE +PATTERN +PREFIX +LAST PUSH\n[0-9a-f]{32} +2 +1 +0 +0 +"a" +"gw\." +\d{4}-`).MatchString(out) {
		t.Fatalf("sync sources:\n%s", out)
	}
	id := sources(t, dir, "dst.db")[0]
	before, err := os.ReadFile(filepath.Join(dir, "dst.db"))
	if err != nil {
		t.Fatal(err)
	}
	out = ok(t, dir, "", "--db", "dst.db", "sync", "forget", id)
	if !strings.Contains(out, "would forget source "+id+` on dst.db: cursor at id 2, 1 row received, 0 missed, 0 gone; pattern "a", prefix "gw.". The 1 row it received stay.`) ||
		!strings.Contains(out, "Run again with --yes") {
		t.Fatalf("sync forget without --yes:\n%s", out)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "dst.db")); !bytes.Equal(before, after) {
		t.Error("sync forget without --yes changed the destination")
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sync", "forget", "0123", "--yes"}, 1, "no sync source 0123 on this database"},
		{[]string{"sync", "forget", "0123"}, 1, "no sync source 0123 on dst.db"},
		{[]string{"sync", "forget"}, 2, "SOURCE"},
		{[]string{"sync", "forget", ""}, 2, "SOURCE must not be empty"},
	} {
		if r := runCLI(t, dir, "", append([]string{"--db", "dst.db"}, c.args...)...); r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("rechist %q: exit %d\n%s%s", c.args, r.code, r.stdout, r.stderr)
		}
	}
	if out := ok(t, dir, "", "--db", "dst.db", "sync", "forget", id, "--yes"); !strings.Contains(out, "forgot source "+id) || !strings.Contains(out, "The 1 row it received stay") {
		t.Fatalf("sync forget --yes:\n%s", out)
	}
	if ids := sources(t, dir, "dst.db"); len(ids) != 0 {
		t.Fatalf("sources after forget: %q", ids)
	}
	if out := ok(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db", "--prefix", "all."); !strings.Contains(out, "copied 2 rows") {
		t.Fatalf("the push after forget:\n%s", out)
	}
	if got := ok(t, dir, "", "--db", "dst.db", "records", "--json"); strings.Count(got, "\n") != 3 {
		t.Fatalf("the destination's records after forget and a new push:\n%s", got)
	}
}

// --follow to a server that never answers, stopped by Ctrl-C, does not
// claim the destination holds rows up to id 0.
func TestSyncFollowNeverReached(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, `{"name":"a","value":1}`+"\n", "--db", "src.db", "ingest")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	cmd, _, stderr := startFollow(t, dir, "push failed: ", "--db", "src.db", "sync", "--to", "http://"+addr+"/", "--follow", "--every", "50ms")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 || strings.Contains(stderr.String(), "up to id") ||
		!strings.Contains(stderr.String(), "interrupted after 0 rows copied, 0 missed; the destination was never reached, so what it holds of this source is unknown") {
		t.Fatalf("after Ctrl-C: exit %d\n%s", code, stderr.String())
	}
}

// A destination whose cursor an older rechist wrote (before migration
// 00009: no pattern, prefix or horizon kept) is listed with "?" for them,
// read-only; its source's next push is accepted whatever its prefix and
// records it, and the one after with another prefix is refused.
func TestSyncDestinationFromBeforeItRemembered(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, `{"name":"a","value":1}`+"\n", "--db", "src.db", "ingest")
	ok(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db", "--prefix", "gw.")
	raw, err := sql.Open("sqlite", filepath.Join(dir, "dst.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TABLE rechist_sync_source`, `DROP TABLE rechist_sync_source_epoch`,
		`DELETE FROM goose_db_version WHERE version_id >= 9`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	if out := ok(t, dir, "", "--db", "dst.db", "sync", "sources"); !regexp.MustCompile(`\n[0-9a-f]{32} +1 +1 +0 +0 +\? +\? +\d{4}-`).MatchString(out) {
		t.Fatalf("sync sources of a destination from before 00009:\n%s", out)
	}
	ok(t, dir, `{"name":"b","value":2}`+"\n", "--db", "src.db", "ingest")
	if out := ok(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db", "--prefix", "new."); !strings.Contains(out, "copied 1 row,") {
		t.Fatalf("the first push after the upgrade:\n%s", out)
	}
	if out := ok(t, dir, "", "--db", "dst.db", "sync", "sources"); !strings.Contains(out, ` "*" `) || !strings.Contains(out, `"new."`) {
		t.Fatalf("sync sources after the first push that recorded them:\n%s", out)
	}
	if r := runCLI(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db", "--prefix", "gw."); r.code != 2 || !strings.Contains(r.stderr, `prefix "new."`) {
		t.Fatalf("a push with the old prefix: exit %d\n%s", r.code, r.stderr)
	}
}

// Against a PostgreSQL destination (with RECHIST_TEST_POSTGRES_URL): a
// copy pushed first and its original refused, which takes a new identity
// and goes on; a changed prefix refused; sync sources and sync forget.
func TestSyncPostgresDestination(t *testing.T) {
	base := postgresServer(t)
	dir := t.TempDir()
	u := postgresSchema(t, base, fmt.Sprintf("cli_sync_%d", os.Getpid()))
	ok(t, dir, `{"name":"shared","value":1}`+"\n", "--db", "src.db", "ingest")
	data, err := os.ReadFile(filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "copy.db"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	ok(t, dir, `{"name":"copy","value":2}`+"\n", "--db", "copy.db", "ingest")
	ok(t, dir, `{"name":"orig","value":3}`+"\n", "--db", "src.db", "ingest")
	ok(t, dir, "", "--db", "copy.db", "sync", "--to", u, "--prefix", "gw.")
	if r := runCLI(t, dir, "", "--db", "src.db", "sync", "--to", u, "--prefix", "gw."); r.code != 1 || !strings.Contains(r.stderr, "sync --new-identity") {
		t.Fatalf("the original's push after the copy's: exit %d\n%s", r.code, r.stderr)
	}
	ok(t, dir, "", "--db", "src.db", "sync", "--new-identity")
	if out := ok(t, dir, "", "--db", "src.db", "sync", "--to", u, "--prefix", "gw."); !strings.Contains(out, "continued the history") || !strings.Contains(out, "copied 1 row,") {
		t.Fatalf("the original's push under a new identity:\n%s", out)
	}
	if r := runCLI(t, dir, "", "--db", "copy.db", "sync", "--to", u, "--prefix", "other."); r.code != 2 || !strings.Contains(r.stderr, `prefix "gw."`) {
		t.Fatalf("a push with another prefix: exit %d\n%s", r.code, r.stderr)
	}
	got := ok(t, dir, "", "--db", u, "query", "*", "--json")
	var values []string
	for _, l := range parseJSONLines(t, got) {
		values = append(values, fmt.Sprintf("%s=%s", l.Name, l.Value))
	}
	slices.Sort(values)
	if want := []string{"gw.copy=2", "gw.orig=3", "gw.shared=1"}; !slices.Equal(values, want) {
		t.Fatalf("the server holds %q, want %q", values, want)
	}
	ids := sources(t, dir, u)
	if len(ids) != 2 {
		t.Fatalf("sources: %q", ids)
	}
	for _, id := range ids {
		if out := ok(t, dir, "", "--db", u, "sync", "forget", id, "--yes"); !strings.Contains(out, "forgot source "+id) {
			t.Fatalf("forget %s:\n%s", id, out)
		}
	}
	if ids := sources(t, dir, u); len(ids) != 0 {
		t.Fatalf("sources after forgetting both: %q", ids)
	}
	if out := ok(t, dir, "", "--db", "copy.db", "sync", "--to", u, "--prefix", "other."); !strings.Contains(out, "copied 2 rows") {
		t.Fatalf("the copy's push under another prefix after forget:\n%s", out)
	}
}

// A destination that forgets a source while its sync --follow runs makes
// the follower stop (exit 1, saying so), not push every row again.
func TestSyncFollowStopsWhenTheDestinationForgets(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, `{"name":"a","value":1}`+"\n"+`{"name":"b","value":2}`+"\n", "--db", "src.db", "ingest")
	cmd, stdout, stderr := startFollow(t, dir, "copied 2 rows", "--db", "src.db", "sync", "--to", "dst.db", "--follow", "--every", "50ms")
	ids := sources(t, dir, "dst.db")
	ok(t, dir, "", "--db", "dst.db", "sync", "forget", ids[0], "--yes")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("sync --follow did not stop within 30s after forget:\n%s%s", stdout.String(), stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(stderr.String(), "the destination forgot this source while this sync ran") {
		t.Fatalf("after forget: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if got := ok(t, dir, "", "--db", "dst.db", "query", "*", "--json"); strings.Count(got, "\n") != 2 {
		t.Fatalf("the destination after forget:\n%s", got)
	}
}

// A destination that received a source before it kept epochs (migration
// 00009) has only the epochs of the pushes since: a copy made after that
// still parts from its original where the two part, and the refused one's
// new identity sends only its own row.
func TestSyncNewIdentityOnADestinationFromBeforeEpochs(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, `{"name":"old","value":1}`+"\n"+`{"name":"old","value":2}`+"\n", "--db", "src.db", "ingest")
	ok(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db", "--prefix", "gw.")
	raw, err := sql.Open("sqlite", filepath.Join(dir, "dst.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TABLE rechist_sync_source`, `DROP TABLE rechist_sync_source_epoch`,
		`DELETE FROM goose_db_version WHERE version_id >= 9`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	ok(t, dir, `{"name":"new","value":3}`+"\n", "--db", "src.db", "ingest")
	ok(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db", "--prefix", "gw.") // the upgraded destination's first push
	data, err := os.ReadFile(filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "copy.db"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	ok(t, dir, `{"name":"copy","value":4}`+"\n", "--db", "copy.db", "ingest")
	ok(t, dir, `{"name":"orig","value":5}`+"\n", "--db", "src.db", "ingest")
	ok(t, dir, "", "--db", "copy.db", "sync", "--to", "dst.db", "--prefix", "gw.")
	if r := runCLI(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db", "--prefix", "gw."); r.code != 1 {
		t.Fatalf("the original's push after the copy's: exit %d\n%s", r.code, r.stderr)
	}
	ok(t, dir, "", "--db", "src.db", "sync", "--new-identity")
	if out := ok(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db", "--prefix", "gw."); !strings.Contains(out, "after id 3, copied 1 row,") {
		t.Fatalf("the original's push under a new identity:\n%s", out)
	}
	got := ok(t, dir, "", "--db", "dst.db", "query", "*", "--json")
	var values []string
	for _, l := range parseJSONLines(t, got) {
		values = append(values, fmt.Sprintf("%s=%s", l.Name, l.Value))
	}
	slices.Sort(values)
	if want := []string{"gw.copy=4", "gw.new=3", "gw.old=1", "gw.old=2", "gw.orig=5"}; !slices.Equal(values, want) {
		t.Fatalf("the destination holds %q, want %q", values, want)
	}
}

// --follow after --new-identity with no row after the point the new
// identity continues from: the destination has no cursor of the new
// identity yet, which is not a forgotten source (the guard watched the old
// identity's cursor once: exit 1 on the second push). Its first row is
// then sent, continuing the old identity's history; a push before it says
// nothing of continuing (nothing committed).
func TestSyncFollowAfterANewIdentity(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, `{"name":"a","value":1}`+"\n"+`{"name":"b","value":2}`+"\n", "--db", "src.db", "ingest")
	ok(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db")
	ok(t, dir, "", "--db", "src.db", "sync", "--new-identity")
	// Nothing to send, so nothing continued yet: the line does not claim it.
	if out := ok(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db"); strings.Contains(out, "continued") || !strings.Contains(out, "copied 0 rows") {
		t.Fatalf("a push with nothing after the old identity's cursor:\n%s", out)
	}
	cmd := command(dir, nil, "--db", "src.db", "sync", "--to", "dst.db", "--follow", "--every", "20ms")
	var stdout, stderr syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		t.Fatalf("sync --follow ended: exit %d\n%s%s", cmd.ProcessState.ExitCode(), stdout.String(), stderr.String())
	case <-time.After(time.Second): // some fifty pushes with nothing to send
	}
	ok(t, dir, `{"name":"c","value":3}`+"\n", "--db", "src.db", "ingest")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "copied 1 row") {
		select {
		case <-done:
			t.Fatalf("sync --follow ended: exit %d\n%s%s", cmd.ProcessState.ExitCode(), stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new row not pushed within 30s:\n%s%s", stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(stdout.String(), "continued the history of its earlier identity") {
		t.Fatalf("the push did not say it continued:\n%s", stdout.String())
	}
	if got := ok(t, dir, "", "--db", "dst.db", "query", "*", "--json"); strings.Count(got, "\n") != 3 {
		t.Fatalf("the destination:\n%s", got)
	}
	if got := ok(t, dir, "", "--db", "dst.db", "sync", "sources"); !strings.Contains(got, "continued by its new identity") {
		t.Fatalf("sync sources does not say the old identity was continued:\n%s", got)
	}
}

// A one-shot push of a file whose earlier identities are, newest first,
// one the destination knows under another prefix (it cannot continue it)
// and one it never received: a first push, every row sent, not a forgotten source.
func TestSyncNewIdentityPastAnIdentityItCannotContinue(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, `{"name":"a","value":1}`+"\n"+`{"name":"b","value":2}`+"\n", "--db", "src.db", "ingest")
	ok(t, dir, "", "--db", "src.db", "sync", "--new-identity") // the first identity: never pushed
	ok(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db", "--prefix", "one.")
	ok(t, dir, "", "--db", "src.db", "sync", "--new-identity")
	out := ok(t, dir, "", "--db", "src.db", "sync", "--to", "dst.db", "--prefix", "two.")
	if !strings.Contains(out, "copied 2 rows") || strings.Contains(out, "continued") {
		t.Fatalf("the push under the newest identity:\n%s", out)
	}
}

// startFollow starts rechist with args in dir (a sync --follow) and waits,
// at most 30 s, until its output says want. The process is killed when the
// test ends, if it still runs.
func startFollow(t *testing.T, dir, want string, args ...string) (*exec.Cmd, *syncbuf.Buffer, *syncbuf.Buffer) {
	t.Helper()
	cmd := command(dir, nil, args...)
	stdout, stderr := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("rechist %q did not print %q within 30s:\n%s%s", args, want, stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cmd, stdout, stderr
}
