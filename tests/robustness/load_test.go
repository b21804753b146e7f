package robustness

// Load: many goroutines store while others query and a cleanup deletes old
// rows. Afterwards every acknowledged value is in the file exactly once,
// the cleanup deleted exactly the old rows, readers never saw a record go
// back in time, and no call failed.
//
// The default run is small (32 writers, 20000 rows; 5000 under -race or
// -short); the large one (256 writers, 1M rows) runs with -rechist.load:
//
//	go test -run='^TestLoad' -rechist.load -v -timeout 30m ./tests/robustness/

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil"
)

var (
	bigLoad     = flag.Bool("rechist.load", false, "run the large load test: 256 writers, 1M rows")
	loadSync    = flag.String("rechist.load.sync", "FULL", "synchronous mode of the load test: FULL or NORMAL")
	loadReaders = flag.Int("rechist.load.readers", -1, "readers of the load test; -1: 2, or 4 with -rechist.load")
)

// The old rows of the load test are stamped in January 1970, before
// loadCutoff; the writers' rows are stamped now.
var loadCutoff = time.UnixMilli(1_000_000_000)

func TestLoadStoresQueriesAndCleanup(t *testing.T) {
	writers, total, readers := 32, 20_000, 2
	switch {
	case *bigLoad:
		writers, total, readers = 256, 1_000_000, 4
	case raceEnabled() || testing.Short():
		total = 5_000
	}
	if *loadReaders >= 0 {
		readers = *loadReaders
	}
	opts := []rechist.Option{}
	switch *loadSync {
	case "FULL":
	case "NORMAL":
		opts = append(opts, rechist.WithSynchronous(rechist.SyncNormal))
	default:
		t.Fatalf("-rechist.load.sync=%s: want FULL or NORMAL", *loadSync)
	}
	db, path := testutil.OpenDB(t, "", opts...)
	ctx := t.Context()
	r := rechist.NewRepo[int](db)
	share := func(g int) int { // values of writer g: total split as evenly as it goes
		n := total / writers
		if g < total%writers {
			n++
		}
		return n
	}
	name := func(g int) string { return fmt.Sprintf("load::g%03d", g) }

	var (
		writersDone = make(chan struct{})
		wg          sync.WaitGroup
		failures    = make(chan error, writers+readers+1)
		latencies   = make([][]time.Duration, writers)
		reads       atomic.Int64
	)
	fail := func(err error) {
		select {
		case failures <- err:
		default:
		}
	}

	// Cleanup: as the writers start, and each time they have stored another
	// twentieth of their rows, store a batch of old rows and delete them (in chunks of 1000,
	// between the writers' commits). Every old row must be deleted once.
	var (
		acked              atomic.Int64
		progress           = make(chan struct{}, 1)
		oldStored          int64
		oldDeleted         int64
		oldBatch           = max(1000, total/100)
		cleanupsDuringLoad int
	)
	wg.Go(func() {
		old := make([]rechist.Record[int], oldBatch)
		for round := 0; ; round++ {
			select {
			case <-writersDone:
				return
			case <-progress:
			}
			for i := range old {
				old[i] = rechist.Record[int]{Name: fmt.Sprintf("old::%d", i%10), Value: i,
					StoredAt: time.UnixMilli(int64(round*len(old) + i))}
			}
			if err := r.StoreMany(ctx, old); err != nil {
				fail(fmt.Errorf("store old rows: %w", err))
				return
			}
			oldStored += int64(len(old))
			n, err := db.Cleanup(ctx, loadCutoff)
			oldDeleted += n
			if err != nil {
				fail(fmt.Errorf("cleanup: %w", err))
				return
			}
			cleanupsDuringLoad++
		}
	})

	// Readers, each a round of queries every millisecond (or back to back
	// when a round takes longer): the newest value of a record never goes
	// back, and a record's values come newest first.
	for range readers {
		wg.Go(func() {
			seen := map[string]int{}
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-writersDone:
					return
				case <-tick.C:
				}
				latest, err := r.QueryLatest(ctx, "load::*", 1)
				if err != nil {
					fail(fmt.Errorf("QueryLatest: %w", err))
					return
				}
				for _, rec := range latest {
					if rec.Value < seen[rec.Name] {
						fail(fmt.Errorf("%s went back from %d to %d", rec.Name, seen[rec.Name], rec.Value))
						return
					}
					seen[rec.Name] = rec.Value
				}
				recent, err := r.Query(ctx, name(i%writers), rechist.QueryParams{LimitPerRecord: 50})
				if err != nil {
					fail(fmt.Errorf("Query: %w", err))
					return
				}
				for j := 1; j < len(recent); j++ {
					if recent[j].Value >= recent[j-1].Value {
						fail(fmt.Errorf("%s: value %d after %d, want newest first", recent[j].Name, recent[j].Value, recent[j-1].Value))
						return
					}
				}
				if i%200 == 0 {
					if _, err := db.Summary(ctx, 3); err != nil {
						fail(fmt.Errorf("Summary: %w", err))
						return
					}
				}
				reads.Add(1)
			}
		})
	}

	progress <- struct{}{} // the first cleanup starts with the writers

	// Writers: each stores its share of values 0, 1, 2, ... under its own
	// record; every eighth one in StoreMany batches of 10.
	start := time.Now()
	var writerWG sync.WaitGroup
	for g := range writers {
		writerWG.Go(func() {
			n := share(g)
			lat := make([]time.Duration, 0, n)
			batch := 1
			if g%8 == 7 {
				batch = 10
			}
			recs := make([]rechist.Record[int], 0, batch)
			for seq := 0; seq < n; seq += batch {
				t0 := time.Now()
				var err error
				if batch == 1 {
					err = r.Store(ctx, name(g), seq)
				} else {
					recs = recs[:0]
					for v := seq; v < min(seq+batch, n); v++ {
						recs = append(recs, rechist.Record[int]{Name: name(g), Value: v})
					}
					err = r.StoreMany(ctx, recs)
				}
				if err != nil {
					fail(fmt.Errorf("store %s %d: %w", name(g), seq, err))
					return
				}
				if batch == 1 {
					lat = append(lat, time.Since(t0))
				}
				step := int64(total / 20)
				if a := acked.Add(int64(min(batch, n-seq))); a/step != (a-int64(min(batch, n-seq)))/step {
					select { // another twentieth: wake the cleanup
					case progress <- struct{}{}:
					default:
					}
				}
			}
			latencies[g] = lat
		})
	}
	writerWG.Wait()
	elapsed := time.Since(start)
	close(writersDone)
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Fatal(err)
	}
	hwmLoad := vmHWM()

	// One last cleanup: no old row may be left, and none deleted twice.
	n, err := db.Cleanup(ctx, loadCutoff)
	if err != nil {
		t.Fatal(err)
	}
	oldDeleted += n
	if cleanupsDuringLoad == 0 {
		t.Fatal("no cleanup ran during the load")
	}
	if oldDeleted != oldStored {
		t.Fatalf("cleanups deleted %d rows, %d old rows were stored", oldDeleted, oldStored)
	}

	// Every acknowledged value exactly once, nothing else.
	all, err := r.Query(ctx, "*", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != total {
		t.Fatalf("%d rows in the file, %d stores acknowledged", len(all), total)
	}
	byName := map[string][]int{}
	for _, rec := range all {
		byName[rec.Name] = append(byName[rec.Name], rec.Value)
	}
	for g := range writers {
		vals := byName[name(g)]
		if len(vals) != share(g) {
			t.Fatalf("%s holds %d values, want %d", name(g), len(vals), share(g))
		}
		for i, v := range vals { // newest first: share-1 down to 0
			if v != len(vals)-1-i {
				t.Fatalf("%s: value %d at position %d, want %d (lost, duplicated or out of order)", name(g), v, i, len(vals)-1-i)
			}
		}
	}
	s, err := db.Summary(ctx, 0)
	if err != nil || s.Rows != int64(total) {
		t.Fatalf("Summary: %d rows, %v; want %d", s.Rows, err, total)
	}
	st := db.Stats()
	if st.WriteErrors != 0 || st.RowsWritten != int64(total)+oldStored || st.RowsDeleted != oldStored {
		t.Fatalf("stats %+v: want no write errors, %d rows written, %d deleted", st, int64(total)+oldStored, oldStored)
	}

	var lat []time.Duration
	for _, l := range latencies {
		lat = append(lat, l...)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	t.Logf("%d writers stored %d rows in %v: %.0f rows/s, %d commits (%.1f rows a commit), synchronous=%s",
		writers, total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(),
		st.Batches, float64(st.RowsWritten)/float64(st.Batches), *loadSync)
	t.Logf("Store latency over %d calls: p50 %v, p99 %v, max %v",
		len(lat), pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
	t.Logf("meanwhile: %d reader rounds by %d readers (QueryLatest over %d records + Query of 50 rows + Summary every 200th), "+
		"%d old rows stored and deleted by %d cleanups during the load", reads.Load(), readers, writers, oldStored, cleanupsDuringLoad)
	t.Logf("peak RSS (VmHWM) %s after the load, %s after reading all %d rows back; file %d MiB + WAL %d MiB (%s)",
		hwmLoad, vmHWM(), total, s.FileBytes>>20, s.WALBytes>>20, path)

	// The WAL must stay bounded while readers come and go. SQLite rewinds
	// it only when a write begins after a checkpoint has copied every
	// frame and no reader still uses one; with overlapping reads that
	// moment may never come unless the library makes it. The bound is four
	// times the 64 MiB at which the library starts to rewind; the WAL that
	// is never rewound holds every page ever written (about 3 GB for the
	// 1M rows of -rechist.load).
	const walBound = 256 << 20
	if s.WALBytes > walBound {
		t.Fatalf("the WAL grew to %d MiB beside a %d MiB database: overlapping reads starve the checkpoint, "+
			"and nothing rewinds or truncates the WAL", s.WALBytes>>20, s.FileBytes>>20)
	}
}

// vmHWM returns the process's peak resident set size, as /proc reports it
// ("123456 kB"), or "n/a" where there is no /proc.
func vmHWM() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "n/a"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "n/a"
}
