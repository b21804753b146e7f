package repo

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/seed178a96f3/rechist/internal/core"
)

// streamed is what StreamValues yields for name within rg, and whether
// the C-API connections served it.
func streamed(t *testing.T, vs core.ValueStreamer, name string, rg core.Range) ([]string, bool) {
	t.Helper()
	var got []string
	served, err := vs.StreamValues(context.Background(), name, rg, func(id, ms int64, value []byte) bool {
		got = append(got, fmt.Sprintf("%d %d %s", id, ms, value))
		return true
	})
	if err != nil {
		t.Fatalf("StreamValues(%q, %+v): %v", name, rg, err)
	}
	return got, served
}

// rowsOf is what the read pool's Rows yields for the same read.
func rowsOf(t *testing.T, e *engine, name string, rg core.Range) []string {
	t.Helper()
	var got []string
	err := e.Reader().Rows(context.Background(), name, rg, func(r core.Row) bool {
		got = append(got, fmt.Sprintf("%d %d %s", r.ID, r.StoredAt, r.ValueJSON))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// fillForStream stores rows of two records at repeated times.
func fillForStream(t *testing.T, db *testDB) {
	var rows []core.Row
	for i := range 300 {
		rows = append(rows, core.Row{Name: []string{"s::a", "s::b"}[i%2], ValueJSON: fmt.Sprintf(`{"i":%d}`, i), StoredAt: int64(1000 + i%37)})
	}
	mustInsert(t, db, rows...)
}

var streamRanges = []core.Range{
	core.Unbounded,
	{StartMs: 1010, EndMs: 1020},
	{StartMs: 1000, EndMs: 2000, LimitPerRecord: 3},
	{StartMs: 1000, EndMs: 2000, LimitPerRecord: 3, OldestFirst: true},
	{StartMs: 1005, EndMs: 1030, OldestFirst: true},
	{StartMs: 5000, EndMs: 6000},
}

// On a file, the engine's C-API connections serve StreamValues, with what
// Rows yields, in Rows' order: opened for writing, read-only, and
// immutable (a file whose directory a reader cannot write); an in-memory
// database leaves it to Rows.
func TestStreamValuesMatchesRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	db := openTestAt(t, path, core.Config{})
	fillForStream(t, db)
	check := func(what string, vs core.ValueStreamer, wantServed bool) {
		t.Helper()
		for _, name := range []string{"s::a", "s::b", "s::none"} {
			for _, rg := range streamRanges {
				got, served := streamed(t, vs, name, rg)
				if served != wantServed {
					t.Fatalf("%s: served = %v, want %v", what, served, wantServed)
				}
				if want := rowsOf(t, db.e, name, rg); served && !slices.Equal(got, want) {
					t.Fatalf("%s: StreamValues(%q, %+v):\n got %q\nwant %q", what, name, rg, got, want)
				}
			}
		}
	}
	check("writable", db.e, true)

	ro := openTestAt(t, path, core.Config{ReadOnly: true})
	check("read-only", ro.e, true)

	// The pool a read-only open makes when SQLite cannot make the WAL
	// index (readonly.go): the same file, with immutable=1.
	loc, err := locate(path, false)
	if err != nil {
		t.Fatal(err)
	}
	imm := &engine{raw: newRawPool(loc, core.Config{BusyTimeout: time.Second, CacheSizeKiB: 1024}, true, 1)}
	t.Cleanup(imm.raw.close)
	if imm.raw.uri != loc.uri+"?mode=ro&immutable=1" {
		t.Fatalf("immutable pool's URI is %q", imm.raw.uri)
	}
	check("immutable", imm, true)

	mem := openTestAt(t, MemoryPath, core.Config{})
	if got, served := streamed(t, mem.e, "s::a", core.Unbounded); served || got != nil {
		t.Fatalf("in memory: served %v, %d rows; want Rows to read it", served, len(got))
	}
}

// A read that finds every C-API connection in use does not wait: it says
// so, and the DB reads it through the read pool. Close while a stream is
// under way closes its connection when the stream ends.
func TestStreamValuesWhenAllConnectionsAreInUse(t *testing.T) {
	db := openTest(t, core.Config{ReadConns: 1})
	fillForStream(t, db)
	want := rowsOf(t, db.e, "s::a", core.Unbounded)

	inside, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	var first []string
	go func() {
		_, err := db.e.StreamValues(context.Background(), "s::a", core.Unbounded, func(id, ms int64, value []byte) bool {
			if first == nil {
				close(inside)
				<-release
			}
			first = append(first, fmt.Sprintf("%d %d %s", id, ms, value))
			return true
		})
		done <- err
	}()
	select {
	case <-inside:
	case <-time.After(30 * time.Second):
		t.Fatal("the first stream did not start")
	}
	if _, served := streamed(t, db.e, "s::a", core.Unbounded); served {
		t.Fatal("a second stream was served while the only connection was in use")
	}
	var got []string
	err := db.Values(context.Background(), "s::a", core.Unbounded, func(ms int64, value []byte) bool {
		got = append(got, fmt.Sprintf("%d %s", ms, value))
		return true
	})
	if err != nil || len(got) != len(want) {
		t.Fatalf("Values meanwhile: %d rows, %v; want %d", len(got), err, len(want))
	}

	if err := db.DB.Close(); err != nil {
		t.Fatal(err)
	}
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the first stream did not end")
	}
	if !slices.Equal(first, want) {
		t.Fatalf("the stream across Close:\n got %q\nwant %q", first, want)
	}
	db.e.raw.mu.Lock()
	open, idle := db.e.raw.open, len(db.e.raw.idle)
	db.e.raw.mu.Unlock()
	if open != 0 || idle != 0 {
		t.Fatalf("after Close and the stream's end: %d connections open, %d idle; want none", open, idle)
	}
	if _, served := streamed(t, db.e, "s::a", core.Unbounded); served {
		t.Fatal("served after Close")
	}
}

// A cancelled ctx stops a stream within rawCheckEvery rows.
func TestStreamValuesStopsOnCancel(t *testing.T) {
	db := openTest(t, core.Config{})
	var rows []core.Row
	for i := range 3 * rawCheckEvery {
		rows = append(rows, core.Row{Name: "c", ValueJSON: "1", StoredAt: int64(i)})
	}
	mustInsert(t, db, rows...)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	served, err := db.e.StreamValues(ctx, "c", core.Unbounded, func(int64, int64, []byte) bool {
		n++
		if n == 10 {
			cancel()
		}
		return true
	})
	if !served || err != context.Canceled || n >= rawCheckEvery {
		t.Fatalf("served %v, err %v after %d rows; want context.Canceled within %d", served, err, n, rawCheckEvery)
	}
}

// SQLite's busy and full codes from a C-API connection classify as they
// do from the driver.
func TestClassifyRawErrors(t *testing.T) {
	for code, want := range map[int]error{
		sqlite3.SQLITE_BUSY: core.ErrBusy, sqlite3.SQLITE_BUSY_SNAPSHOT: core.ErrBusy,
		sqlite3.SQLITE_LOCKED: core.ErrBusy, sqlite3.SQLITE_FULL: core.ErrDiskFull, sqlite3.SQLITE_CORRUPT: nil,
	} {
		if got := classify(fmt.Errorf("read: %w", &rawError{code: code, msg: "x"})); got != want {
			t.Errorf("classify(code %d) = %v, want %v", code, got, want)
		}
	}
}

// A writer process stores while this one, opened read-only, streams a
// record's values through the C-API connections over and over: each
// stream is one snapshot (times descending, every value the writer's),
// none sees fewer rows than the one before, and once the writer is done
// a stream sees what Rows sees. (The writer's cleanups delete the rows
// before 1 ms, which the streams leave out.)
func TestStreamValuesWhileAnotherProcessWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	w := openTestAt(t, path, core.Config{})
	mustInsert(t, w, core.Row{Name: "w0", ValueJSON: "1", StoredAt: 0})
	if err := w.DB.Close(); err != nil {
		t.Fatal(err)
	}
	writer := startHelperProcess(t, "writer", path)
	ro := openTestAt(t, path, core.Config{ReadOnly: true})
	last, streams := 0, 0
	kept := core.Range{StartMs: 1, EndMs: core.Unbounded.EndMs}
	read := func() int {
		t.Helper()
		n, prev := 0, int64(1<<62)
		served, err := ro.e.StreamValues(context.Background(), "w0", kept, func(id, ms int64, value []byte) bool {
			if ms > prev || string(value) != "1" {
				t.Fatalf("row %d of a stream: time %d after %d, value %q", n, ms, prev, value)
			}
			n, prev = n+1, ms
			return true
		})
		if err != nil || !served {
			t.Fatalf("StreamValues: served %v, %v", served, err)
		}
		if n < last {
			t.Fatalf("a stream saw %d rows after one saw %d", n, last)
		}
		streams++
		last = n
		return n
	}
	for done := false; !done; {
		select {
		case writer.err = <-writer.done:
			done = true
			writer.once.Do(func() {})
			if writer.err != nil {
				t.Fatalf("writer: %v\n%s", writer.err, writer.stderr.String())
			}
		default:
			read()
		}
	}
	if got, want := read(), len(rowsOf(t, ro.e, "w0", kept)); got != want || want < 2 {
		t.Fatalf("after the writer: %d rows streamed, Rows has %d", got, want)
	}
	t.Logf("%d streams, the last of %d rows", streams, last)
}

// BenchmarkOneRecordRows reads one record's 50,000 rows oldest first, as
// the Prometheus API reads a series: through the read pool's Rows
// (database/sql) and through StreamValues (the C API), side by side.
func BenchmarkOneRecordRows(b *testing.B) {
	db := openTest(b, core.Config{Synchronous: core.SyncNormal})
	rows := make([]core.Row, 50_000)
	for i := range rows {
		rows[i] = core.Row{Name: "one", ValueJSON: fmt.Sprintf(`{"v":%d}`, i%1000), StoredAt: int64(i) * 1000}
	}
	if err := db.Insert(context.Background(), rows); err != nil {
		b.Fatal(err)
	}
	rg := core.Range{StartMs: 0, EndMs: core.Unbounded.EndMs, OldestFirst: true}
	b.Run("Rows", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			if err := db.e.Reader().Rows(context.Background(), "one", rg, func(core.Row) bool { n++; return true }); err != nil || n != len(rows) {
				b.Fatal(n, err)
			}
		}
	})
	b.Run("StreamValues", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			served, err := db.e.StreamValues(context.Background(), "one", rg, func(int64, int64, []byte) bool { n++; return true })
			if err != nil || !served || n != len(rows) {
				b.Fatal(n, served, err)
			}
		}
	})
}
