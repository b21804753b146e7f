package rechist_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// Micro-benchmarks of the hot paths on a real file. The side-by-side
// comparisons with baselines are `rechist bench`.

func benchDB(b *testing.B, opts ...rechist.Option) *rechist.DB {
	b.Helper()
	db, err := rechist.Open(context.Background(), filepath.Join(b.TempDir(), "h.db"), opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

var benchNames = func() []string {
	n := make([]string, 1000)
	for i := range n {
		n[i] = fmt.Sprintf("bench::rec%04d", i)
	}
	return n
}()

// BenchmarkStore is one caller: every Store is a commit of its own.
func BenchmarkStore(b *testing.B) {
	r := rechist.NewRepo[Accuracy](benchDB(b, rechist.WithSynchronous(rechist.SyncNormal)))
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := r.Store(ctx, benchNames[i%len(benchNames)], Accuracy{Value: 0.9, City: "x"}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkStoreParallel is 64 callers sharing group commits.
func BenchmarkStoreParallel(b *testing.B) {
	db := benchDB(b, rechist.WithSynchronous(rechist.SyncNormal))
	r := rechist.NewRepo[Accuracy](db)
	ctx := context.Background()
	var seq atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32) // 64 goroutines on 2 CPUs
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			if err := r.Store(ctx, benchNames[i%int64(len(benchNames))], Accuracy{Value: 0.9, City: "x"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	st := db.Stats()
	b.ReportMetric(float64(st.RowsWritten)/float64(max(st.Batches, 1)), "rows/batch")
}

// BenchmarkStoreMany is the bulk path, 1000 values a call.
func BenchmarkStoreMany(b *testing.B) {
	r := rechist.NewRepo[Accuracy](benchDB(b, rechist.WithSynchronous(rechist.SyncNormal)))
	recs := make([]rechist.Record[Accuracy], 1000)
	for i := range recs {
		recs[i] = rechist.Record[Accuracy]{Name: benchNames[i], Value: Accuracy{Value: 0.9, City: "x"}}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.StoreMany(context.Background(), recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkQueryLatest is the latest-5 walk over 1000 records holding 50
// rows each, decoded into a struct.
func BenchmarkQueryLatest(b *testing.B) {
	db := benchDB(b, rechist.WithSynchronous(rechist.SyncNormal))
	r := rechist.NewRepo[Accuracy](db)
	t0 := time.Now().Add(-time.Hour)
	recs := make([]rechist.Record[Accuracy], 0, 50_000)
	for i := range 50_000 {
		recs = append(recs, rechist.Record[Accuracy]{Name: benchNames[i%1000], Value: Accuracy{Value: 0.9, City: "x"}, StoredAt: t0.Add(time.Duration(i) * time.Millisecond)})
	}
	if err := r.StoreMany(context.Background(), recs); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := r.QueryLatest(context.Background(), "bench::*", 5)
		if err != nil || len(got) != 5000 {
			b.Fatalf("%d rows, %v", len(got), err)
		}
	}
}
