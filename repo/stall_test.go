package repo

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist/internal/core"
)

// A reader that begins a read transaction and stays in it (an HTTP export
// whose client stopped reading, an All loop paused by its consumer) pins
// the WAL: it cannot start over until the reader leaves. Before, the
// writer's rewind pass waited for it up to 2 s at a time and tried again
// every 50 ms, so the writer spent ~97% of its time waiting and every
// writer of the file fell 14-20x (issue 19). Now the writer's waits for
// readers take at most a bounded share of its time (readerWaitShare), the
// WAL grows meanwhile, and it starts over once the reader leaves.
func TestAReaderThatStaysDoesNotStallTheWriter(t *testing.T) {
	for _, where := range []string{"another process", "this process"} {
		t.Run(where, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "h.db")
			db := openTestAt(t, path, core.Config{Synchronous: core.SyncNormal, WALRestartPages: 256, CheckpointInterval: time.Millisecond})
			mustInsert(t, db, core.Row{Name: "r000", ValueJSON: "0", StoredAt: 0})

			var leave func()
			if where == "another process" {
				leave = startHelper(t, "stayer", path)
			} else {
				leave = stayInThisProcess(t, db)
			}
			// Store for a few seconds beside the reader, so that the
			// writer asks for many rewinds; the assertion is on the share
			// of that time the writer spent waiting for readers.
			load := 3 * time.Second
			t0 := time.Now()
			waited0 := db.e.ckpt.readerWait.Load()
			n := storeFor(t, db, load)
			elapsed := time.Since(t0)
			waited := time.Duration(db.e.ckpt.readerWait.Load() - waited0)
			t.Logf("%d rows in %v beside a reader that stays; the writer waited for readers %v (%.1f%%)",
				n, elapsed.Round(time.Millisecond), waited.Round(time.Millisecond), 100*waited.Seconds()/elapsed.Seconds())
			if waited > elapsed/5 {
				t.Fatalf("the writer waited %v of %v for a reader that stays; at most a fifth", waited, elapsed)
			}

			// Once the reader leaves, the WAL starts over again.
			leave()
			rewinds := db.Stats().WALRewinds
			deadline := time.Now().Add(time.Minute)
			for db.Stats().WALRewinds == rewinds {
				if time.Now().After(deadline) {
					t.Fatalf("the WAL did not start over within a minute of the reader leaving (%d rewinds before)", rewinds)
				}
				storeFor(t, db, 50*time.Millisecond)
			}
		})
	}
}

// stayInThisProcess holds a read transaction of db's own read pool, as a
// paused All loop does, until the returned func is called.
func stayInThisProcess(t *testing.T, db *testDB) (leave func()) {
	t.Helper()
	entered, release := make(chan error, 1), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.e.Read(context.Background(), func(r core.Reader) error {
			_, _, _, err := r.Info(context.Background(), "r000")
			entered <- err
			<-release
			return nil
		})
	}()
	if err := <-entered; err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	leave = func() {
		once.Do(func() {
			close(release)
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(leave)
	return leave
}

// storeFor stores single rows from four goroutines for about d and returns
// how many it stored.
func storeFor(t *testing.T, db *testDB, d time.Duration) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	n := 0
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				row := core.Row{Name: fmt.Sprintf("r%03d", (g*7919+i)%300), ValueJSON: `{"v":1}`, StoredAt: int64(i)}
				if err := db.Insert(context.Background(), []core.Row{row}); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				n++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return n
}
