package repo

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"
)

// lockWriter holds the database's write lock from another connection, so
// the writer goroutine blocks in BEGIN on the next batch it takes. The
// returned func releases it.
func lockWriter(t *testing.T, e *Engine, setup ...string) (release func()) {
	t.Helper()
	other, err := sql.Open("sqlite", e.path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range setup {
		if _, err := other.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := tx.Commit(); err != nil {
			t.Error(err)
		}
		other.Close()
	}
}

// waitFor polls cond: the tests wait for events, never for an amount of time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-t.Context().Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(100 * time.Microsecond):
		}
	}
}

func insertRequest(name string) *Request {
	r := newRequest()
	r.Rows = []Row{{Name: name, ValueJSON: `"` + name + `"`, StoredAt: 1}}
	return r
}

func storedNames(t *testing.T, e *Engine) string {
	t.Helper()
	rows, err := e.Query(context.Background(), "*", Unbounded)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, r := range rows {
		s = append(s, r.Name)
	}
	return strings.Join(s, " ")
}

// A caller whose ctx ends while its value is still queued gets ctx.Err()
// and the value is never written; one whose value was already taken into a
// batch waits for the commit and gets its real outcome.
func TestContextEndingWhileQueuedAbandonsTheWrite(t *testing.T) {
	e := openTest(t, Config{BusyTimeout: time.Minute})
	release := lockWriter(t, e)

	taken := insertRequest("taken")
	takenCtx, cancelTaken := context.WithCancel(context.Background())
	takenDone := make(chan error, 1)
	go func() { _, err := e.w.submit(takenCtx, taken); takenDone <- err }()
	waitFor(t, "the writer to take the first request", func() bool { return taken.state.Load() == stateTaken })

	queued := insertRequest("queued")
	queuedCtx, cancelQueued := context.WithCancel(context.Background())
	queuedDone := make(chan error, 1)
	go func() { _, err := e.w.submit(queuedCtx, queued); queuedDone <- err }()
	waitFor(t, "the second request to be queued", func() bool { return len(e.w.queue) == 1 })

	cancelQueued()
	if err := <-queuedDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("queued request: got %v, want context.Canceled", err)
	}
	cancelTaken() // too late: the writer has it
	release()
	if err := <-takenDone; err != nil {
		t.Fatalf("taken request: got %v, want nil (it was committed)", err)
	}
	if got := storedNames(t, e); got != "taken" {
		t.Fatalf("stored %q, want only the taken request", got)
	}
	if st := e.Stats(); st.Abandoned != 1 {
		t.Errorf("Abandoned = %d, want 1", st.Abandoned)
	}
}

// A request that fails inside a batch fails alone: the others of its batch
// commit, and the writer goes on.
func TestFailingRequestDoesNotPoisonTheBatch(t *testing.T) {
	e := openTest(t, Config{BusyTimeout: time.Minute})
	release := lockWriter(t, e, `CREATE TRIGGER poison BEFORE INSERT ON record_history
		WHEN NEW.record_name = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned row'); END`)

	first := insertRequest("first")
	go e.w.submit(context.Background(), first)
	waitFor(t, "the writer to block", func() bool { return first.state.Load() == stateTaken })

	reqs := []*Request{insertRequest("good1"), insertRequest("poison"), insertRequest("good2")}
	done := make([]chan error, len(reqs))
	for i, r := range reqs {
		done[i] = make(chan error, 1)
		go func() { _, err := e.w.submit(context.Background(), r); done[i] <- err }()
		waitFor(t, "the request to be queued", func() bool { return len(e.w.queue) == i+1 })
	}
	release() // the three now go into one batch, which fails and is retried one by one
	for i, r := range reqs {
		err := <-done[i]
		if name := r.Rows[0].Name; name == "poison" {
			if err == nil || !strings.Contains(err.Error(), "poisoned row") {
				t.Errorf("poison: got %v, want the trigger's error", err)
			}
		} else if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	mustInsert(t, e, Row{Name: "after", ValueJSON: "1", StoredAt: 2})
	if got := storedNames(t, e); got != "after first good1 good2" {
		t.Fatalf("stored %q", got)
	}
	if st := e.Stats(); st.WriteErrors != 1 {
		t.Errorf("WriteErrors = %d, want 1", st.WriteErrors)
	}
}

// Requests queued together are committed together.
func TestQueuedRequestsShareOneCommit(t *testing.T) {
	e := openTest(t, Config{BusyTimeout: time.Minute})
	release := lockWriter(t, e)
	first := insertRequest("first")
	go e.w.submit(context.Background(), first)
	waitFor(t, "the writer to block", func() bool { return first.state.Load() == stateTaken })
	const n = 50
	done := make(chan error, n)
	for range n {
		go func() { _, err := e.w.submit(context.Background(), insertRequest("r")); done <- err }()
	}
	waitFor(t, "all requests to be queued", func() bool { return len(e.w.queue) == n })
	release()
	for range n {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if st := e.Stats(); st.Batches != 2 || st.RowsWritten != n+1 {
		t.Fatalf("%d rows in %d batches, want %d rows in 2", st.RowsWritten, st.Batches, n+1)
	}
}
