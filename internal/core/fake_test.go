package core

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeEngine is an Engine in memory whose commits the test controls: while
// gate is set, every Commit waits for a value on it (or for its ctx).
type fakeEngine struct {
	mu      sync.Mutex
	rows    []Row
	events  []string // "commit N", "close"
	gate    chan struct{}
	entered chan struct{} // receives once per Commit that reaches the gate
	stuck   bool          // Commit waits for its ctx only
	fail    []error       // the next Commits fail with these, in order
	// afterChunk, if set, runs (locked) after each KindDeleteChunk.
	afterChunk func(f *fakeEngine)
}

var _ Engine = (*fakeEngine)(nil)

func newFake() *fakeEngine {
	return &fakeEngine{entered: make(chan struct{}, 1024)}
}

func (f *fakeEngine) Commit(ctx context.Context, batch []*Request) error {
	f.entered <- struct{}{}
	f.mu.Lock()
	if len(f.fail) > 0 {
		err := f.fail[0]
		f.fail = f.fail[1:]
		f.mu.Unlock()
		return err
	}
	f.mu.Unlock()
	if f.stuck {
		<-ctx.Done()
		return ctx.Err()
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var add []Row
	for _, r := range batch {
		switch r.Kind {
		case KindInsert:
			for _, row := range r.Rows {
				if row.Name == "poison" {
					return &RequestError{Request: r, Err: errors.New("poisoned row")}
				}
			}
			add = append(add, r.Rows...)
			r.N = int64(len(r.Rows))
		case KindDeleteChunk:
			// The oldest Chunk rows in [StartMs, CutoffMs), as the engines.
			slices.SortStableFunc(f.rows, func(a, b Row) int { return int(a.StoredAt - b.StoredAt) })
			r.N, r.LastMs = 0, 0
			f.rows = slices.DeleteFunc(f.rows, func(row Row) bool {
				if r.N < r.Chunk && row.StoredAt >= r.StartMs && row.StoredAt < r.CutoffMs {
					r.N, r.LastMs = r.N+1, row.StoredAt
					return true
				}
				return false
			})
			r.More = r.N == r.Chunk
			from := fmt.Sprint(r.StartMs)
			if r.StartMs == math.MinInt64 {
				from = "the start"
			}
			f.events = append(f.events, fmt.Sprintf("chunk from %s: %d", from, r.N))
			if f.afterChunk != nil {
				f.afterChunk(f)
			}
		default:
			return errors.New("request without a kind")
		}
	}
	f.rows = append(f.rows, add...)
	f.events = append(f.events, "commit "+strings.Repeat("r", len(batch)))
	return nil
}

// fakeReader answers Query from the fake's rows; the writer's tests read
// nothing else (the embedded nil Reader panics if they do).
type fakeReader struct {
	Reader
	f *fakeEngine
}

func (r fakeReader) Query(_ context.Context, p Pattern, _ Range) ([]Row, error) {
	f := r.f
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Row
	for _, r := range f.rows {
		if p.MatchesAll || strings.HasPrefix(r.Name, p.Prefix) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b Row) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Policies: the fake stores none, so retention passes do nothing.
func (r fakeReader) Policies(context.Context) ([]Policy, error) { return nil, nil }

// Read has no snapshot to offer: the writer's tests read with Query.
func (f *fakeEngine) Read(context.Context, func(Reader) error) error { return errors.ErrUnsupported }

func (f *fakeEngine) Reader() Reader { return fakeReader{f: f} }

func (f *fakeEngine) Summary(context.Context, int) (Summary, error) { return Summary{}, nil }

func (f *fakeEngine) Close(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, "close")
	return nil
}

func (f *fakeEngine) Classify(err error) error {
	if strings.Contains(err.Error(), "locked") {
		return ErrBusy
	}
	return nil
}

func (f *fakeEngine) eventLog() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.events, ", ")
}

// openFake opens a DB over f and closes it when the test ends.
func openFake(t *testing.T, f *fakeEngine, cfg Config) *DB {
	t.Helper()
	d := Driver{Name: "fake", Open: func(context.Context, string, Config) (Engine, error) { return f, nil }}
	db, err := Open(context.Background(), d, "fake", "fake", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if f.gate != nil {
			close(f.gate) // let whatever still waits through
			f.gate = nil
		}
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// waitFor polls cond until it holds, and fails the test if it does not
// within a bounded time: the tests wait for events, not for durations.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// receive waits for a value on ch within a bounded time.
func receive[V any](t *testing.T, what string, ch <-chan V) V {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("gave up waiting for %s", what)
		panic("unreachable")
	}
}
