package robustness

// Helpers of the sync tests (sync_*_test.go): the sync child process, the
// multiset comparison of source and destination, and a private PostgreSQL
// cluster the outage test may stop (schemas on the CI's server come from
// internal/testutil/pgtest).

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	_ "github.com/seed178a96f3/rechist/postgres" // postgres:// destinations
	"github.com/seed178a96f3/rechist/rechisthttp"
)

// Environment of the sync child. syncEnvSrc switches the test binary into
// child mode; without it TestHelperProcessSync returns at once.
const (
	syncEnvSrc    = "RECHIST_SYNC_CHILD_SRC"    // the source file, opened read-only
	syncEnvDst    = "RECHIST_SYNC_CHILD_DST"    // the destination: file or URL
	syncEnvPrefix = "RECHIST_SYNC_CHILD_PREFIX" // SyncPrefix
	syncEnvBatch  = "RECHIST_SYNC_CHILD_BATCH"  // SyncBatchRows
)

// TestHelperProcessSync is not a test of its own: it is the body of the
// sync process that the sync tests start and kill. It pushes its source
// to its destination over and over, like `rechist sync --follow` with a
// short interval, and prints a line "batch CURSOR" after every batch the
// destination committed, "conflict" when another sync of the same source
// moved the cursor first (it then goes on from there), "idle CURSOR" when
// it has caught up, and "retry ERROR" after a failure it retries.
func TestHelperProcessSync(t *testing.T) {
	srcPath := os.Getenv(syncEnvSrc)
	if srcPath == "" {
		return // not started by a sync test
	}
	if err := syncChild(srcPath, os.Getenv(syncEnvDst), os.Getenv(syncEnvPrefix), os.Getenv(syncEnvBatch)); err != nil {
		fmt.Fprintln(os.Stderr, "sync child:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

func syncChild(srcPath, dstPath, prefix, batchText string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	batch, err := strconv.Atoi(batchText)
	if err != nil {
		return err
	}
	src, err := rechist.Open(ctx, srcPath, rechist.WithReadOnly())
	if err != nil {
		return err
	}
	defer src.Close()
	var dst rechist.SyncTarget
	if strings.HasPrefix(dstPath, "http://") {
		if dst, err = rechisthttp.NewSyncClient(dstPath, syncToken); err != nil {
			return err
		}
	} else {
		db, err := rechist.Open(ctx, dstPath)
		if err != nil {
			return err
		}
		defer db.Close()
		dst = db
	}
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) {
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush() // at once: the parent kills on what it reads
	}
	opts := []rechist.SyncOption{rechist.SyncPrefix(prefix), rechist.SyncBatchRows(batch),
		rechist.SyncProgress(func(r rechist.SyncResult) { say("batch %d", r.Cursor) })}
	for ctx.Err() == nil {
		r, err := rechist.SyncTo(ctx, src, dst, opts...)
		switch {
		case err == nil:
			say("idle %d", r.Cursor)
			time.Sleep(10 * time.Millisecond)
		case errors.Is(err, rechist.ErrConflict) && !strings.Contains(err.Error(), "new identity"):
			say("conflict")
		case errors.Is(err, rechist.ErrConflict), errors.Is(err, rechist.ErrInvalidArgument), errors.Is(err, rechist.ErrNoSourceID):
			return err
		default:
			say("retry %s", strings.ReplaceAll(err.Error(), "\n", " "))
			time.Sleep(20 * time.Millisecond)
		}
	}
	return ctx.Err()
}

// syncProc is a running sync child and what it printed.
type syncProc struct {
	cmd    *exec.Cmd
	lines  chan string // closed when its stdout ends
	stderr *strings.Builder
	waited bool
}

// startSyncChild starts a sync child pushing src to dst under prefix, at
// most batch source rows a transaction.
func startSyncChild(t *testing.T, src, dst, prefix string, batch int) *syncProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessSync$", "-test.count=1")
	cmd.Env = append(os.Environ(), syncEnvSrc+"="+src, syncEnvDst+"="+dst, syncEnvPrefix+"="+prefix,
		syncEnvBatch+"="+strconv.Itoa(batch))
	p := &syncProc{cmd: cmd, lines: make(chan string, 1024), stderr: &strings.Builder{}}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	return p
}

// kill ends the child with SIGKILL (if it still runs) and waits for it
// (once; later calls do nothing); it fails the test if the child ended
// otherwise or wrote to stderr.
func (p *syncProc) kill(t *testing.T) {
	t.Helper()
	if p.waited {
		return
	}
	p.waited = true
	_ = p.cmd.Process.Kill()
	for range p.lines { // drain, so that Wait's copy ends
	}
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("sync child did not die of SIGKILL: %v\n%s", err, p.stderr.String())
	}
	if p.stderr.Len() > 0 {
		t.Fatalf("sync child wrote to stderr:\n%s", p.stderr.String())
	}
}

// row is one row of the multisets the sync tests compare: what a
// destination must hold of a source row, byte for byte.
type row struct {
	name     string
	storedAt int64
	value    string
}

// multiset returns the rows of db with ids up to upTo (all for upTo < 0)
// counted by (prefix + name, stored_at, value).
func multiset(t *testing.T, db *rechist.DB, prefix string, upTo int64) map[row]int {
	t.Helper()
	m := map[row]int{}
	var after int64
	for {
		changes, next, err := db.Changes(t.Context(), "*", after, 5000)
		if err != nil {
			t.Fatalf("Changes: %v", err)
		}
		for _, c := range changes {
			if upTo >= 0 && c.ID > upTo {
				return m
			}
			m[row{prefix + c.Name, c.StoredAt.UnixMilli(), string(c.Value)}]++
		}
		if next == after {
			return m
		}
		after = next
	}
}

// destinationState returns the rows of dst and its cursor for source id,
// read while no batch commits: a PostgreSQL server may still commit the
// batch a killed sync sent its COMMIT for after the process is gone, so
// the cursor is read before and after the rows until it stands still.
func destinationState(t *testing.T, dst *rechist.DB, id string) (map[row]int, rechist.SyncStatus) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		before, err := dst.SyncStatus(t.Context(), id)
		if err != nil {
			t.Fatalf("SyncStatus: %v", err)
		}
		rows := multiset(t, dst, "", -1)
		after, err := dst.SyncStatus(t.Context(), id)
		if err != nil {
			t.Fatalf("SyncStatus: %v", err)
		}
		if after.Cursor == before.Cursor {
			return rows, after
		}
		if time.Now().After(deadline) {
			t.Fatalf("the destination's cursor kept moving for a minute after the sync process died (%d, then %d)", before.Cursor, after.Cursor)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sameMultiset fails the test unless got and want hold the same rows the
// same number of times, naming a few that differ.
func sameMultiset(t *testing.T, what string, got, want map[row]int) {
	t.Helper()
	var diffs []string
	total := 0
	for r, n := range want {
		total += n
		if got[r] != n {
			diffs = append(diffs, fmt.Sprintf("%q at %d %s: %d times, want %d", r.name, r.storedAt, r.value, got[r], n))
		}
	}
	for r, n := range got {
		if _, ok := want[r]; !ok {
			diffs = append(diffs, fmt.Sprintf("%q at %d %s: %d times, want none", r.name, r.storedAt, r.value, n))
		}
	}
	if len(diffs) > 0 {
		t.Fatalf("%s: %d rows differ (of %d wanted), e.g.:\n%s", what, len(diffs), total, strings.Join(diffs[:min(len(diffs), 8)], "\n"))
	}
}

// fillSource stores n rows into db: names from a small set (some with
// characters outside ASCII), values of several JSON shapes with their
// spacing kept, times spread over a day, several rows sharing a time.
func fillSource(t *testing.T, db *rechist.DB, rng *rand.Rand, n int) {
	t.Helper()
	base := time.Now().Add(-24 * time.Hour).UnixMilli()
	recs := make([]rechist.Record[json.RawMessage], 0, 500)
	flush := func() {
		if err := rechist.NewRepo[json.RawMessage](db).StoreMany(t.Context(), recs); err != nil {
			t.Fatalf("StoreMany: %v", err)
		}
		recs = recs[:0]
	}
	for i := range n {
		name := fmt.Sprintf("sensor.%d.temp", rng.IntN(12))
		if i%7 == 0 {
			name = "Zähler::ünïcode-" + strconv.Itoa(rng.IntN(3))
		}
		var v string
		switch rng.IntN(4) {
		case 0:
			v = fmt.Sprintf(`{"celsius": %d.%d, "n": %d}`, rng.IntN(40), rng.IntN(10), i)
		case 1:
			v = strconv.Itoa(rng.IntN(1000))
		case 2:
			v = fmt.Sprintf(`["a", {"b":[1,2,%d]}, "\u00e9"]`, i)
		default:
			v = fmt.Sprintf(`"text %d with \"quotes\""`, rng.IntN(50))
		}
		at := base + int64(rng.IntN(86_400_000))
		recs = append(recs, rechist.Record[json.RawMessage]{Name: name, Value: json.RawMessage(v), StoredAt: time.UnixMilli(at)})
		if len(recs) == cap(recs) {
			flush()
		}
	}
	if len(recs) > 0 {
		flush()
	}
}

// pgCluster is a private PostgreSQL cluster (initdb + pg_ctl, as in
// .ci/postgres.sh) that a test may stop and start without disturbing
// others.
type pgCluster struct {
	bin, dir string
	port     int
	asUser   string // "postgres" when run as root (initdb refuses root)
}

// startCluster makes and starts a private cluster, stopped and removed
// when the test ends. Without PostgreSQL's binaries the test skips (fails
// under RECHIST_TEST_POSTGRES_REQUIRED).
func startCluster(t *testing.T) *pgCluster {
	t.Helper()
	c := &pgCluster{}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) > 0 {
		c.bin = filepath.Dir(matches[len(matches)-1])
	} else if p, err := exec.LookPath("initdb"); err == nil {
		c.bin = filepath.Dir(p)
	} else {
		if os.Getenv("RECHIST_TEST_POSTGRES_REQUIRED") != "" {
			t.Fatal("no PostgreSQL binaries (initdb, pg_ctl) but RECHIST_TEST_POSTGRES_REQUIRED is set")
		}
		t.Skip("PostgreSQL outage not tested: no initdb in /usr/lib/postgresql/*/bin or on PATH (install postgresql, or run bash .ci/postgres.sh once)")
	}
	dir, err := os.MkdirTemp("", "rechist-sync-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	t.Cleanup(func() {
		_ = c.run("pg_ctl", "-D", c.dir+"/data", "-m", "immediate", "-w", "stop")
		os.RemoveAll(c.dir)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, initdb needs the user postgres (.ci/postgres.sh creates it): %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		if err := os.Chown(dir, uid, -1); err != nil {
			t.Fatal(err)
		}
		c.asUser = "postgres"
	}
	if err := c.run("initdb", "-D", c.dir+"/data", "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
		t.Fatalf("initdb: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	if err := c.start(); err != nil {
		t.Fatalf("start the cluster: %v\n%s", err, c.log())
	}
	return c
}

// run runs a PostgreSQL program of the cluster's binaries, as the
// cluster's user.
func (c *pgCluster) run(prog string, args ...string) error {
	cmd := exec.Command(filepath.Join(c.bin, prog), args...)
	if c.asUser != "" {
		quoted := make([]string, len(args)+1)
		quoted[0] = filepath.Join(c.bin, prog)
		for i, a := range args {
			quoted[i+1] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		cmd = exec.Command("su", c.asUser, "-s", "/bin/sh", "-c", strings.Join(quoted, " "))
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %v: %w\n%s", prog, args, err, out)
	}
	return nil
}

func (c *pgCluster) start() error {
	return c.run("pg_ctl", "-D", c.dir+"/data", "-l", c.dir+"/log", "-w", "-t", "30", "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", c.port, c.dir), "start")
}

// stop stops the server: mode "fast" (clients disconnected, a clean
// shutdown) or "immediate" (the processes end at once, as in a crash;
// recovery replays the WAL at the next start).
func (c *pgCluster) stop(mode string) error {
	return c.run("pg_ctl", "-D", c.dir+"/data", "-m", mode, "-w", "-t", "30", "stop")
}

func (c *pgCluster) log() string {
	b, _ := os.ReadFile(c.dir + "/log")
	return string(b)
}

func (c *pgCluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// syncToken is the token of the server serveSync starts.
const syncToken = "robustness"

// serveSync serves dst writable over HTTP, as `rechist serve --writable
// --token` does, and returns its URL and a function that waits until the
// server has no connection left: a killed client's sockets are closed by
// its kernel, and a push the server had received is handled (and may
// commit) before the server sees its connection end.
func serveSync(t *testing.T, dst *rechist.DB) (string, func()) {
	t.Helper()
	var open atomic.Int64
	srv := httptest.NewUnstartedServer(rechisthttp.NewHandler(dst, rechisthttp.Writable(), rechisthttp.WithToken(syncToken)))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	settle := func() {
		deadline := time.Now().Add(30 * time.Second)
		for open.Load() > 0 {
			if time.Now().After(deadline) {
				t.Fatal("the server still has a connection 30 s after its client was killed")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return srv.URL, settle
}

// outageSource makes the source of an outage test: a file of rows rows
// (fewer under -short or the race detector, and batches of batch source
// rows for its sync child), and returns its path, the open handle (closed
// when the test ends), and its last row id.
func outageSource(t *testing.T, rng *rand.Rand) (srcPath string, src *rechist.DB, last int64, batch int) {
	t.Helper()
	rows, batch := 40000, 200
	if testing.Short() || raceEnabled() {
		rows, batch = 10000, 50
	}
	srcPath = filepath.Join(t.TempDir(), "src.db")
	src, err := rechist.Open(t.Context(), srcPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	fillSource(t, src, rng, rows)
	if last, err = src.LastID(t.Context()); err != nil {
		t.Fatal(err)
	}
	return srcPath, src, last, batch
}

// childWatch follows a sync child's lines for up to two minutes, counting
// its retries; why adds to the message when the child does not get on.
type childWatch struct {
	p        *syncProc
	last     int64
	deadline <-chan time.Time
	retries  int
	why      func() string
}

func watchChild(p *syncProc, last int64, why func() string) *childWatch {
	return &childWatch{p: p, last: last, deadline: time.After(2 * time.Minute), why: why}
}

// next reads the child's lines until one is a batch (or, when idle is
// set, until it has caught up with the source's last row).
func (w *childWatch) next(t *testing.T, idle bool) {
	t.Helper()
	for {
		select {
		case line, ok := <-w.p.lines:
			switch {
			case !ok:
				t.Fatalf("the sync child ended:\n%s", w.p.stderr.String())
			case strings.HasPrefix(line, "retry"):
				w.retries++
			case !idle && strings.HasPrefix(line, "batch"):
				return
			case idle && line == "idle "+strconv.FormatInt(w.last, 10):
				return
			}
		case <-w.deadline:
			t.Fatalf("the sync child did not get on within two minutes (%d retries)\n%s", w.retries, w.why())
		}
	}
}
