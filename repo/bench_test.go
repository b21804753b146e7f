package repo

import (
	"github.com/seed178a96f3/rechist/internal/core"

	"context"
	"fmt"
	"testing"
)

// benchEngine opens a file holding 100k rows of 1000 records (100 each).
func benchEngine(b *testing.B) *testDB {
	b.Helper()
	e := openTest(b, core.Config{Synchronous: core.SyncNormal})
	fill := make([]core.Row, 100_000)
	for i := range fill {
		fill[i] = core.Row{Name: fmt.Sprintf("r%04d", i%1000), ValueJSON: `{"v":1}`, StoredAt: int64(i)}
	}
	if err := e.Insert(context.Background(), fill); err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkCommitBatch is one group commit of 64 rows spread over 1000
// records in a file that already holds 100k rows: the writer's unit of work.
func BenchmarkCommitBatch(b *testing.B) {
	e := benchEngine(b)
	batch := make([]core.Row, 64)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		for j := range batch {
			batch[j] = core.Row{Name: fmt.Sprintf("r%04d", (i*64+j)%1000), ValueJSON: `{"v":1}`, StoredAt: int64(100_000 + i)}
		}
		if err := e.Insert(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkEnqueue is the hand-off to the writer and back on an in-memory
// database, where the commit itself costs little: the engine's overhead
// per request.
func BenchmarkEnqueue(b *testing.B) {
	e, err := core.Open(context.Background(), Driver, MemoryPath, MemoryPath, core.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	row := []core.Row{{Name: "x", ValueJSON: "1", StoredAt: 1}}
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Insert(context.Background(), row); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLatestWalk is the engine's latest-5 query over 1000 records of
// 100 rows each, without decoding.
func BenchmarkLatestWalk(b *testing.B) {
	e := benchEngine(b)
	b.ReportAllocs()
	for b.Loop() {
		rows, err := e.Query(context.Background(), "r*", core.Range{StartMs: 0, EndMs: 1 << 62, LimitPerRecord: 5})
		if err != nil || len(rows) != 5000 {
			b.Fatalf("%d rows, %v", len(rows), err)
		}
	}
}
