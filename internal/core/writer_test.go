package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist/internal/testutil/syncbuf"
)

func insertRequest(name string) *Request {
	r := newRequest(KindInsert)
	r.Rows = []Row{{Name: name, ValueJSON: `"` + name + `"`, StoredAt: 1}}
	return r
}

func storedNames(t *testing.T, db *DB) string {
	t.Helper()
	rows, err := db.Query(context.Background(), "*", Unbounded)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, r := range rows {
		s = append(s, r.Name)
	}
	return strings.Join(s, " ")
}

// submitAsync submits r from a goroutine and returns where its outcome
// arrives.
func submitAsync(ctx context.Context, db *DB, r *Request) <-chan error {
	done := make(chan error, 1)
	go func() { _, err := db.w.submit(ctx, r); done <- err }()
	return done
}

// A caller whose ctx ends while its value is still queued gets ctx.Err()
// and the value is never written; one whose value was already taken into a
// batch waits for the commit and gets its real outcome.
func TestContextEndingWhileQueuedAbandonsTheWrite(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{})
	db := openFake(t, f, Config{})

	taken := insertRequest("taken")
	takenCtx, cancelTaken := context.WithCancel(context.Background())
	takenDone := submitAsync(takenCtx, db, taken)
	receive(t, "the writer to take the first request", f.entered)

	queued := insertRequest("queued")
	queuedCtx, cancelQueued := context.WithCancel(context.Background())
	queuedDone := submitAsync(queuedCtx, db, queued)
	waitFor(t, "the second request to be queued", func() bool { return len(db.w.queue) == 1 })

	cancelQueued()
	if err := receive(t, "the queued request's outcome", queuedDone); !errors.Is(err, context.Canceled) {
		t.Fatalf("queued request: got %v, want context.Canceled", err)
	}
	cancelTaken() // too late: the writer has it
	f.gate <- struct{}{}
	if err := receive(t, "the taken request's outcome", takenDone); err != nil {
		t.Fatalf("taken request: got %v, want nil (it was committed)", err)
	}
	if got := storedNames(t, db); got != "taken" {
		t.Fatalf("stored %q, want only the taken request", got)
	}
	if st := db.Stats(); st.Abandoned != 1 {
		t.Errorf("Abandoned = %d, want 1", st.Abandoned)
	}
}

// A request that fails inside a batch fails alone: the others of its batch
// commit, and the writer goes on.
func TestFailingRequestDoesNotPoisonTheBatch(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{}, 100)
	db := openFake(t, f, Config{})

	first := submitAsync(context.Background(), db, insertRequest("first"))
	receive(t, "the writer to block", f.entered)

	reqs := []*Request{insertRequest("good1"), insertRequest("poison"), insertRequest("good2")}
	done := make([]<-chan error, len(reqs))
	for i, r := range reqs {
		done[i] = submitAsync(context.Background(), db, r)
		waitFor(t, "the request to be queued", func() bool { return len(db.w.queue) == i+1 })
	}
	for range 3 { // the first batch, the batch of three, the two good ones again
		f.gate <- struct{}{}
	}
	if err := receive(t, "first", first); err != nil {
		t.Fatal(err)
	}
	for i, r := range reqs {
		err := receive(t, "a request's outcome", done[i])
		if name := r.Rows[0].Name; name == "poison" {
			if err == nil || !strings.Contains(err.Error(), "poisoned row") || !strings.HasPrefix(err.Error(), "rechist: store: ") {
				t.Errorf("poison: got %v, want the engine's error for op store", err)
			}
		} else if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	f.gate <- struct{}{}
	if err := db.Insert(context.Background(), []Row{{Name: "after", ValueJSON: "1", StoredAt: 2}}); err != nil {
		t.Fatal(err)
	}
	if got := storedNames(t, db); got != "after first good1 good2" {
		t.Fatalf("stored %q", got)
	}
	if st := db.Stats(); st.WriteErrors != 1 || st.Batches != 4 {
		t.Errorf("WriteErrors = %d, Batches = %d; want 1 and 4", st.WriteErrors, st.Batches)
	}
}

// A failure that does not belong to one request (a failed commit, a lost
// connection) fails every request of the batch, once: the writer never
// tries them again one by one, since the commit may have happened.
func TestBatchFailureIsNotRetriedRequestByRequest(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{}, 10)
	db := openFake(t, f, Config{})
	first := submitAsync(context.Background(), db, insertRequest("first"))
	receive(t, "the writer to block", f.entered)
	var done []<-chan error
	for i := range 3 {
		done = append(done, submitAsync(context.Background(), db, insertRequest("r")))
		waitFor(t, "the request to be queued", func() bool { return len(db.w.queue) == i+1 })
	}
	f.mu.Lock()
	f.fail = []error{errors.New("commit: conn closed")}
	f.mu.Unlock()
	f.gate <- struct{}{}
	if err := receive(t, "first", first); err != nil {
		t.Fatal(err)
	}
	for _, d := range done {
		if err := receive(t, "an outcome", d); err == nil || !strings.Contains(err.Error(), "conn closed") {
			t.Fatalf("got %v, want the batch's error", err)
		}
	}
	if st := db.Stats(); st.Batches != 2 || st.WriteErrors != 3 {
		t.Fatalf("Batches = %d, WriteErrors = %d; want 2 tries and 3 errors", st.Batches, st.WriteErrors)
	}
}

// A batch that met a lock (Retryable) is tried again until it commits;
// callers whose ctx ends meanwhile get their ctx's error and are left out.
func TestRetryableFailureIsTriedAgainAndHonoursCallersCtx(t *testing.T) {
	f := newFake()
	db := openFake(t, f, Config{})
	busy := Retryable(errors.New("database is locked"))
	f.mu.Lock()
	f.fail = []error{busy, busy, busy}
	f.mu.Unlock()
	if err := db.Insert(context.Background(), []Row{{Name: "patient", ValueJSON: "1"}}); err != nil {
		t.Fatalf("store after three locked tries: %v", err)
	}
	f.mu.Lock()
	for range 1000 {
		f.fail = append(f.fail, busy)
	}
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := db.Insert(ctx, []Row{{Name: "impatient", ValueJSON: "1"}}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("store whose ctx ended while locked: %v, want its ctx's error", err)
	}
	f.mu.Lock()
	f.fail = nil
	f.mu.Unlock()
	if got := storedNames(t, db); got != "patient" {
		t.Fatalf("stored %q, want only patient", got)
	}
}

// Requests queued together are committed together.
func TestQueuedRequestsShareOneCommit(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{}, 2)
	db := openFake(t, f, Config{})
	first := submitAsync(context.Background(), db, insertRequest("first"))
	receive(t, "the writer to block", f.entered)
	const n = 50
	done := make([]<-chan error, n)
	for i := range n {
		done[i] = submitAsync(context.Background(), db, insertRequest("r"))
	}
	waitFor(t, "all requests to be queued", func() bool { return len(db.w.queue) == n })
	f.gate <- struct{}{}
	f.gate <- struct{}{}
	for _, d := range append(done, first) {
		if err := receive(t, "a request's outcome", d); err != nil {
			t.Fatal(err)
		}
	}
	if st := db.Stats(); st.Batches != 2 || st.RowsWritten != n+1 {
		t.Fatalf("%d rows in %d batches, want %d rows in 2", st.RowsWritten, st.Batches, n+1)
	}
}

// A commit that never returns by itself (a lock held elsewhere, a server
// that does not answer) is cut off at the batch timeout: the caller gets an
// error that says so, and the writer and Close go on. Before, a taken batch
// ran under context.Background() and its callers waited for ever.
func TestBatchTimeoutBoundsAStuckCommit(t *testing.T) {
	f := newFake()
	f.stuck = true
	db := openFake(t, f, Config{BatchTimeout: 50 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- db.Insert(context.Background(), []Row{{Name: "x", ValueJSON: "1"}}) }()
	err := receive(t, "Insert to give up at the batch timeout", done)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "batch timeout") {
		t.Fatalf("got %v, want the batch timeout's error", err)
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Op != "store" {
		t.Fatalf("got %#v, want an *Error for op store", err)
	}
}

// Close has one order on every engine: new calls fail with ErrClosed at
// once, the writer commits what it accepted, and only then does the engine
// close.
func TestCloseCommitsAcceptedWritesBeforeTheEngineCloses(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{})
	db := openFake(t, f, Config{})
	first := submitAsync(context.Background(), db, insertRequest("a"))
	receive(t, "the writer to take the first request", f.entered)
	second := submitAsync(context.Background(), db, insertRequest("b"))
	waitFor(t, "the second request to be queued", func() bool { return len(db.w.queue) == 1 })

	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	waitFor(t, "Close to begin", db.closed.Load)
	if err := db.Insert(context.Background(), []Row{{Name: "late", ValueJSON: "1"}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Insert after Close began: %v, want ErrClosed", err)
	}
	if _, err := db.Query(context.Background(), "*", Unbounded); !errors.Is(err, ErrClosed) {
		t.Fatalf("Query after Close began: %v, want ErrClosed", err)
	}
	f.gate <- struct{}{}
	f.gate <- struct{}{}
	for _, d := range []<-chan error{first, second, closed} {
		if err := receive(t, "an outcome", d); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := f.eventLog(), "commit r, commit r, close"; got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// A retention pass that Close cuts short (the DB closed under it, or its
// ctx ended) is not a failure and must not be logged as one.
func TestRetentionIsQuietWhenTheDBCloses(t *testing.T) {
	var logs syncbuf.Buffer
	f := newFake()
	db := openFake(t, f, Config{Logger: logs.Logger(slog.LevelDebug), Retention: time.Hour})
	db.retentionPass(context.Background())
	if !strings.Contains(logs.String(), "retention cleanup") {
		t.Fatalf("an open DB's pass logged nothing:\n%s", logs.String())
	}
	db.closed.Store(true) // what Close does first, before it stops retention
	db.retentionPass(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	db.retentionPass(ctx)
	db.closed.Store(false)
	if s := logs.String(); strings.Contains(s, "WARN") {
		t.Fatalf("retention logged a failure while the DB closed:\n%s", s)
	}
}

// Errors from the engine are wrapped once with the operation, and the
// engine's classification adds the sentinel.
func TestEngineErrorsAreWrappedAndClassified(t *testing.T) {
	err := Wrap("store", errors.New("database is locked (5)"), newFake().Classify)
	if !errors.Is(err, ErrBusy) || err.Error() != "rechist: store: database is locked (5)" {
		t.Fatalf("got %v (busy %v)", err, errors.Is(err, ErrBusy))
	}
	if again := Wrap("query", err, nil); again != err {
		t.Fatalf("an *Error was wrapped twice: %v", again)
	}
	if err := Wrap("store", context.Canceled, newFake().Classify); !errors.Is(err, context.Canceled) || errors.Is(err, ErrBusy) {
		t.Fatalf("ctx error: %v", err)
	}
}

// A caller storing alone commits on its own goroutine (no hand-over to the
// writer goroutine); Close still waits for that commit before the engine
// closes, and a second caller meanwhile is queued and committed after it.
func TestDirectCommitIsWaitedForAndNotOvertaken(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{})
	db := openFake(t, f, Config{})
	direct := make(chan error, 1)
	go func() { direct <- db.Insert(context.Background(), []Row{{Name: "alone", ValueJSON: "1"}}) }()
	receive(t, "the lone caller's commit to begin", f.entered)
	if db.w.busy.Load() {
		t.Fatal("the writer goroutine took the lone caller's request; want a direct commit")
	}
	second := make(chan error, 1)
	go func() { second <- db.Insert(context.Background(), []Row{{Name: "second", ValueJSON: "2"}}) }()
	waitFor(t, "the second caller to be queued", func() bool { return len(db.w.queue) == 1 || db.w.busy.Load() })
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	waitFor(t, "Close to begin", db.closed.Load)
	f.gate <- struct{}{} // the direct commit
	f.gate <- struct{}{} // the second caller's batch
	for _, d := range []<-chan error{direct, second, closed} {
		if err := receive(t, "an outcome", d); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := f.eventLog(), "commit r, commit r, close"; got != want {
		t.Fatalf("events %q, want %q (the engine closed under a direct commit?)", got, want)
	}
	if got := strings.Join(func() []string {
		var s []string
		for _, r := range f.rows {
			s = append(s, r.Name)
		}
		return s
	}(), " "); got != "alone second" {
		t.Fatalf("rows %q, want the direct commit's first", got)
	}
}

// Close waits for a direct commit under way even when the writer goroutine
// has nothing to do.
func TestCloseWaitsForADirectCommit(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{})
	db := openFake(t, f, Config{})
	direct := make(chan error, 1)
	go func() { direct <- db.Insert(context.Background(), []Row{{Name: "alone", ValueJSON: "1"}}) }()
	receive(t, "the lone caller's commit to begin", f.entered)
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	waitFor(t, "Close to begin", db.closed.Load)
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a commit was under way", err)
	case <-time.After(50 * time.Millisecond): // Close has had time to get it wrong
	}
	f.gate <- struct{}{}
	for _, d := range []<-chan error{direct, closed} {
		if err := receive(t, "an outcome", d); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := f.eventLog(), "commit r, close"; got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
}

// A cleanup's chunks each start where the one before it stopped (the time
// of the newest row it deleted), not at the oldest row again; when they
// run out, one more chunk looks from the start, and deletes a row stored
// there meanwhile.
func TestCleanupChunksResumeAndLookBackOnce(t *testing.T) {
	f := newFake()
	for i := range 10 {
		f.rows = append(f.rows, Row{Name: "x", ValueJSON: "1", StoredAt: int64(10 + i)})
	}
	late := false
	f.afterChunk = func(f *fakeEngine) {
		if !late {
			late = true
			f.rows = append(f.rows, Row{Name: "late", ValueJSON: "1", StoredAt: -1}) // before 1970
		}
	}
	db := openFake(t, f, Config{CleanupChunk: 3})
	n, err := db.Cleanup(t.Context(), 100)
	if err != nil || n != 11 {
		t.Fatalf("Cleanup = %d, %v; want the 10 rows and the late one", n, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var chunks []string
	for _, e := range f.events {
		if strings.HasPrefix(e, "chunk") {
			chunks = append(chunks, e)
		}
	}
	want := "chunk from the start: 3|chunk from 12: 3|chunk from 15: 3|chunk from 18: 1|chunk from the start: 1"
	if got := strings.Join(chunks, "|"); got != want || len(f.rows) != 0 {
		t.Fatalf("chunks %s, %d rows left; want %s and none", got, len(f.rows), want)
	}
}

// windowedFake is the fake engine with windows of four milliseconds.
type windowedFake struct {
	*fakeEngine
	asked []string
}

func (w *windowedFake) CleanupWindowEnd(_ context.Context, startMs, cutoffMs int64) (int64, error) {
	w.asked = append(w.asked, fmt.Sprint(startMs))
	if startMs == math.MinInt64 {
		return 14, nil
	}
	return startMs + 4, nil
}

// An engine that cleans up in windows (CleanupWindower) is asked for each
// window's end from where the last one ended, each window is a cleanup
// with the window's end as its cutoff (and its look back from the start),
// the last one ends at the real cutoff, every row before it goes, and the
// whole counts as one cleanup.
func TestCleanupGoesWindowByWindow(t *testing.T) {
	f := newFake()
	for i := range 12 {
		f.rows = append(f.rows, Row{Name: "x", ValueJSON: "1", StoredAt: int64(10 + i)})
	}
	f.rows = append(f.rows, Row{Name: "x", ValueJSON: "1", StoredAt: 40}) // after the cutoff
	w := &windowedFake{fakeEngine: f}
	d := Driver{Name: "fake", Open: func(context.Context, string, Config) (Engine, error) { return w, nil }}
	db, err := Open(context.Background(), d, "fake", "fake", Config{CleanupChunk: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := db.Cleanup(t.Context(), 21)
	if err != nil || n != 11 {
		t.Fatalf("Cleanup = %d, %v; want the 11 rows before 21", n, err)
	}
	if got := strings.Join(w.asked, " "); got != "-9223372036854775808 14 18" {
		t.Fatalf("window ends asked from %s", got)
	}
	f.mu.Lock()
	left := len(f.rows)
	f.mu.Unlock()
	if left != 2 || db.Stats().Cleanups != 1 {
		t.Fatalf("%d rows left (want 2: times 21 and 40), %d cleanups (want 1)", left, db.Stats().Cleanups)
	}
}

// rangeFake deletes a record's range the oldest first, and, when resumes
// is set, says where its chunk stopped (Request.LastMs) as the PostgreSQL
// engine does; it records where each chunk started.
type rangeFake struct {
	*fakeEngine
	resumes bool
	starts  []string
}

func (f *rangeFake) Commit(ctx context.Context, batch []*Request) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range batch {
		if r.Kind != KindDeleteRange {
			return errors.New("rangeFake deletes ranges only")
		}
		f.starts = append(f.starts, fmt.Sprint(r.StartMs))
		slices.SortStableFunc(f.rows, func(a, b Row) int { return int(a.StoredAt - b.StoredAt) })
		r.N = 0
		f.rows = slices.DeleteFunc(f.rows, func(row Row) bool {
			if r.N < r.Chunk && row.Name == r.Name && row.StoredAt >= r.StartMs && row.StoredAt <= r.CutoffMs {
				r.N++
				if f.resumes {
					r.LastMs = row.StoredAt
				}
				return true
			}
			return false
		})
		r.More = r.N == r.Chunk
	}
	return nil
}

// A Delete's chunks go on from the time where the chunk before stopped on
// an engine that says where (rows at that time may remain), and each from
// the range's start on one that does not (LastMs left alone); both delete
// every row of the range.
func TestDeleteChunksResume(t *testing.T) {
	for _, tc := range []struct {
		resumes bool
		want    string
	}{{true, "5 12 15"}, {false, "5 5 5"}} {
		f := &rangeFake{fakeEngine: newFake(), resumes: tc.resumes}
		for i := range 7 {
			f.rows = append(f.rows, Row{Name: "x", ValueJSON: "1", StoredAt: int64(10 + i)})
		}
		d := Driver{Name: "fake", Open: func(context.Context, string, Config) (Engine, error) { return f, nil }}
		db, err := Open(context.Background(), d, "fake", "fake", Config{CleanupChunk: 3})
		if err != nil {
			t.Fatal(err)
		}
		n, err := db.w.deleteRange(t.Context(), "x", Range{StartMs: 5, EndMs: 100})
		db.Close()
		if err != nil || n != 7 || len(f.rows) != 0 {
			t.Fatalf("resumes %v: deleteRange = %d, %v, %d rows left; want 7, none left", tc.resumes, n, err, len(f.rows))
		}
		if got := strings.Join(f.starts, " "); got != tc.want {
			t.Fatalf("resumes %v: chunks started at %s; want %s", tc.resumes, got, tc.want)
		}
	}
}

// NoMaintenance starts neither background job: no rollup to kick, no
// retention pass (the same condition starts both).
func TestNoMaintenanceStartsNoBackgroundJobs(t *testing.T) {
	for _, noMaint := range []bool{false, true} {
		db := openFake(t, newFake(), Config{NoMaintenance: noMaint})
		if started := db.rollupKick != nil; started == noMaint {
			t.Fatalf("NoMaintenance %v: background jobs started %v", noMaint, started)
		}
	}
}
