package repo

import (
	"github.com/seed178a96f3/rechist/internal/core"

	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// writeStream stores rows from several goroutines, as a busy producer
// would, while readers query back to back, and returns the engine's stats
// and the WAL file's size.
func writeStream(t *testing.T, cfg core.Config) (core.Stats, int64) {
	t.Helper()
	e := openTest(t, cfg)
	const goroutines, each = 8, 1000
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := e.Query(context.Background(), "r*", core.Range{StartMs: 0, EndMs: 1 << 62, LimitPerRecord: 1}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				row := core.Row{Name: fmt.Sprintf("r%03d", (g*each+i)%300), ValueJSON: `{"v":1}`, StoredAt: int64(i)}
				if err := e.Insert(context.Background(), []core.Row{row}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	fi, err := os.Stat(e.e.path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	return e.Stats(), fi.Size()
}

// Under a steady stream of writes, with queries overlapping all the time,
// the WAL must keep starting over: the background checkpointer copies it,
// the writer finishes the job behind the read gate, and the WAL file stays a
// fraction of what the same stream leaves when the WAL is never allowed to
// start over.
func TestWALStartsOverUnderContinuousWrites(t *testing.T) {
	never, grown := writeStream(t, core.Config{Synchronous: core.SyncNormal, WALRestartPages: 1 << 30, CheckpointInterval: time.Millisecond})
	st, size := writeStream(t, core.Config{Synchronous: core.SyncNormal, WALRestartPages: 32, CheckpointInterval: time.Millisecond})
	t.Logf("no rewinds: WAL %d KiB; rewinding: %d rewinds, WAL %d KiB", grown>>10, st.WALRewinds, size>>10)
	if never.WALRewinds != 0 {
		t.Fatalf("%d rewinds with the threshold out of reach", never.WALRewinds)
	}
	if st.WALRewinds == 0 {
		t.Fatal("the WAL never started over")
	}
	// The WAL file keeps its largest size, and one long stretch (a query
	// the loaded machine stretches) decides it: 25 of 36 MB once, with 285
	// rewinds, while a helper benchmarked beside the test. Well under what
	// the stream leaves without rewinds, with many rewinds, is the promise.
	if size > grown*3/4 || st.WALRewinds < 10 {
		t.Fatalf("WAL is %d bytes, %d without rewinds, after %d rewinds: it does not start over", size, grown, st.WALRewinds)
	}
}

// The rewind threshold follows the write rate: what the writer appends in
// rewindEvery, at least a sixteenth of the configured maximum (4 MiB of the
// default 64 MiB), at most the maximum.
func TestRewindThresholdFollowsTheWriteRate(t *testing.T) {
	def := newCheckpointer(nil, core.DefaultWALRestartPages, time.Millisecond, nil)
	for _, tc := range []struct {
		rate float64 // frames a second
		want int64
	}{
		{0, 1024},      // idle or unknown: 4 MiB
		{2000, 1024},   // a slow writer: still 4 MiB
		{12000, 3000},  // one caller at FULL, ~4,000 rows/s: 12 MiB
		{40000, 10000}, // a busy writer
		{1e6, 16384},   // never past 64 MiB
	} {
		if got := def.rewindThreshold(tc.rate); got != tc.want {
			t.Errorf("rate %.0f frames/s: threshold %d frames, want %d", tc.rate, got, tc.want)
		}
	}
	if got := newCheckpointer(nil, 1<<30, time.Millisecond, nil).rewindThreshold(0); got < 1<<26 {
		t.Errorf("a threshold out of reach (1<<30 frames) came down to %d for an idle writer", got)
	}
}
