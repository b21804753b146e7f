package robustness

// Crash safety: a child process (this test binary, re-executed) stores
// values from several goroutines and prints every acknowledged write; the
// parent kills it with SIGKILL at a random moment, many times in a row on
// the same file, and checks after every kill that the file is intact and
// holds every acknowledged write exactly once.

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil"
)

var longRuns = flag.Bool("rechist.long", false,
	"run the long crash tests: 200 kills a mode, up to 20000 acknowledged writes between kills")

// Environment of the crash child. crashEnvMode switches the test binary into
// child mode; without it TestHelperProcessCrash returns at once.
const (
	crashEnvMode = "RECHIST_CRASH_CHILD" // "store" or "cleanup"
	crashEnvPath = "RECHIST_CRASH_DB"    // the database file
	crashEnvSync = "RECHIST_CRASH_SYNC"  // "FULL" or "NORMAL"
	crashEnvRun  = "RECHIST_CRASH_RUN"   // the round, which names the records
	crashEnvSeed = "RECHIST_CRASH_SEED"  // set by hand to replay a run
)

// The child's writers: goroutine g stores record "rNNN::gG". Writers with
// g%4 == 3 store batches of crashBatch values with one StoreMany, the others
// one value per Store. Values count up from 0, so what a record holds after
// a crash must be a prefix 0..n-1 of its sequence.
const (
	crashWriters = 8
	crashBatch   = 5
	// Old rows of the cleanup mode are stamped in January 1970, before
	// crashCutoffMs; the writers' rows are stamped now.
	crashCutoffMs = 1_000_000_000
)

func crashBatchOf(g int) int {
	if g%4 == 3 {
		return crashBatch
	}
	return 1
}

// TestHelperProcessCrash is not a test of its own: it is the body of the
// child process that the crash tests start and kill.
func TestHelperProcessCrash(t *testing.T) {
	mode := os.Getenv(crashEnvMode)
	if mode == "" {
		return // not started by a crash test
	}
	run, _ := strconv.Atoi(os.Getenv(crashEnvRun))
	syncMode := rechist.SyncFull
	if os.Getenv(crashEnvSync) == "NORMAL" {
		syncMode = rechist.SyncNormal
	}
	if err := crashChild(mode, os.Getenv(crashEnvPath), syncMode, run); err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

// crashChild stores until it is killed (or, if nobody kills it, for ten
// minutes) and writes one line "name seq" to stdout for every value whose
// store returned nil, after it returned. In cleanup mode a goroutine also
// stores old rows and deletes them with Cleanup, over and over, with lines
// "# cleanup begin" and "# cleanup end N" around each Cleanup.
func crashChild(mode, path string, syncMode rechist.Synchronous, run int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	db, err := rechist.Open(ctx, path, rechist.WithSynchronous(syncMode), rechist.WithCleanupChunk(100))
	if err != nil {
		return err
	}
	defer db.Close()
	r := rechist.NewRepo[int](db)
	errs := make(chan error, crashWriters+1)
	var wg sync.WaitGroup
	for g := range crashWriters {
		wg.Go(func() {
			name := fmt.Sprintf("r%03d::g%d", run, g)
			batch := crashBatchOf(g)
			recs := make([]rechist.Record[int], batch)
			var line []byte
			for seq := 0; ctx.Err() == nil; seq += batch {
				var err error
				if batch == 1 {
					err = r.Store(ctx, name, seq)
				} else {
					for i := range recs {
						recs[i] = rechist.Record[int]{Name: name, Value: seq + i}
					}
					err = r.StoreMany(ctx, recs)
				}
				if err != nil {
					if ctx.Err() == nil {
						errs <- fmt.Errorf("store %s %d: %w", name, seq, err)
					}
					return
				}
				line = line[:0]
				for i := range batch {
					line = fmt.Appendf(line, "%s %d\n", name, seq+i)
				}
				os.Stdout.Write(line) // unbuffered: the parent sees it at once
			}
		})
	}
	if mode == "cleanup" {
		wg.Go(func() {
			old := make([]rechist.Record[int], 1000)
			for round := 0; ctx.Err() == nil; round++ {
				for i := range old {
					old[i] = rechist.Record[int]{Name: fmt.Sprintf("old::%03d", run), Value: i,
						StoredAt: time.UnixMilli(int64(round*len(old) + i))}
				}
				if err := r.StoreMany(ctx, old); err != nil {
					if ctx.Err() == nil {
						errs <- fmt.Errorf("store old rows: %w", err)
					}
					return
				}
				os.Stdout.Write([]byte("# cleanup begin\n"))
				n, err := db.Cleanup(ctx, time.UnixMilli(crashCutoffMs))
				if err != nil {
					if ctx.Err() == nil {
						errs <- fmt.Errorf("cleanup: %w", err)
					}
					return
				}
				os.Stdout.Write(fmt.Appendf(nil, "# cleanup end %d\n", n))
			}
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// crashRun is what the parent learned from one child it killed.
type crashRun struct {
	acked        map[string]int // record name -> acknowledged values (0..n-1)
	lines        int            // acknowledged values
	inCleanup    bool           // the kill landed between "cleanup begin" and "end"
	cleanupsDone int
}

// killChildAfter starts a child on path, reads its acknowledgements and
// kills it with SIGKILL right after the target-th one. It then reads what
// the child had written before it died (those are acknowledgements too) and
// waits for it.
func killChildAfter(t *testing.T, path, mode, syncMode string, run, target int) crashRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcessCrash$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		crashEnvMode+"="+mode, crashEnvPath+"="+path, crashEnvSync+"="+syncMode,
		crashEnvRun+"="+strconv.Itoa(run))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	res := crashRun{acked: map[string]int{}}
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "# cleanup begin":
			res.inCleanup = true
			continue
		case strings.HasPrefix(line, "# cleanup end "):
			res.inCleanup = false
			res.cleanupsDone++
			continue
		}
		name, seqText, ok := strings.Cut(line, " ")
		seq, err := strconv.Atoi(seqText)
		if !ok || err != nil {
			t.Errorf("child wrote %q, not \"name seq\"", line)
			continue
		}
		// Values are acknowledged in order, per record.
		if seq != res.acked[name] {
			t.Errorf("child acknowledged %s %d after %d values", name, seq, res.acked[name])
		}
		res.acked[name] = seq + 1
		res.lines++
		if res.lines == target && !killed {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			killed = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Errorf("reading the child: %v", err)
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended after %d acknowledgements without being killed: %v\n%s", res.lines, err, stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("child wrote to stderr:\n%s", stderr.String())
	}
	return res
}

// crashSeed returns the seed of the kill schedule: RECHIST_CRASH_SEED if
// set (to replay a failure), a new one otherwise.
func crashSeed(t *testing.T) uint64 {
	if s := os.Getenv(crashEnvSeed); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", crashEnvSeed, err)
		}
		return seed
	}
	return rand.Uint64()
}

// crashRounds kills a child kills times on one file, each time after between
// 50 and maxAcks acknowledged values, and after every kill reopens the file
// with rechist and checks it:
//
//   - PRAGMA integrity_check says "ok";
//   - every acknowledged value is present exactly once;
//   - each record holds a prefix 0..n-1 of its sequence, with at most one
//     unacknowledged store (one Store or one whole StoreMany) beyond the
//     acknowledged ones: nothing duplicated, nothing from nowhere, and a
//     StoreMany is all there or not at all;
//   - the records of earlier rounds hold exactly as many rows as the
//     check after their own round found.
func crashRounds(t *testing.T, mode, syncMode string, kills, maxAcks int) {
	seed := crashSeed(t)
	t.Logf("kill schedule seed %d (replay with %s=%d)", seed, crashEnvSeed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	path := filepath.Join(t.TempDir(), "crash.db")
	settled := map[string]int{} // records of earlier rounds -> rows found
	var rowsChecked, acked, unacked, inCleanup, cleanups int
	for run := range kills {
		target := 50 + rng.IntN(maxAcks-50+1)
		res := killChildAfter(t, path, mode, syncMode, run, target)
		acked += res.lines
		cleanups += res.cleanupsDone
		if res.inCleanup {
			inCleanup++
		}

		db, err := rechist.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("round %d: Open after the kill: %v", run, err)
		}
		testutil.IntegrityCheck(t, path)
		prefix := fmt.Sprintf("r%03d::", run)
		recs, err := rechist.Query[int](t.Context(), db, prefix+"*", rechist.QueryParams{})
		if err != nil {
			t.Fatalf("round %d: Query: %v", run, err)
		}
		if st := db.Stats(); st.SkippedRows != 0 {
			t.Fatalf("round %d: %d rows did not decode", run, st.SkippedRows)
		}
		counts, err := db.Summary(t.Context(), math.MaxInt) // rows of every record
		if err != nil {
			t.Fatalf("round %d: Summary: %v", run, err)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", run, err)
		}

		// This round's records, value by value.
		found := map[string][]int{}
		for _, rec := range recs {
			found[rec.Name] = append(found[rec.Name], rec.Value)
		}
		for name, vals := range found {
			slices.Sort(vals)
			for i, v := range vals {
				if v != i {
					t.Fatalf("round %d: %s holds %v..., not a prefix of its sequence (duplicate or gap at %d)",
						run, name, vals[:min(len(vals), i+3)], i)
				}
			}
		}
		rowsChecked += len(recs)
		current := map[string]int{}
		for g := range crashWriters {
			name := prefix + "g" + strconv.Itoa(g)
			n, ack, batch := len(found[name]), res.acked[name], crashBatchOf(g)
			switch {
			case n < ack:
				t.Fatalf("round %d (%s, synchronous=%s): %s holds %d values, %d were acknowledged: acknowledged writes lost",
					run, mode, syncMode, name, n, ack)
			case n != ack && n != ack+batch:
				t.Fatalf("round %d: %s holds %d values, %d acknowledged, in stores of %d", run, name, n, ack, batch)
			}
			unacked += n - ack
			if n > 0 {
				current[name] = n
			}
		}
		if len(found) != len(current) {
			t.Fatalf("round %d: records %v in the file, want those of %v", run, slices.Sorted(maps.Keys(found)), slices.Sorted(maps.Keys(current)))
		}

		// Earlier rounds' records, by count: nobody writes them any more.
		earlier := map[string]int{}
		for _, r := range counts.Top {
			if strings.HasPrefix(r.Name, "r") && !strings.HasPrefix(r.Name, prefix) {
				earlier[r.Name] = int(r.Rows)
				rowsChecked += int(r.Rows)
			}
		}
		if !maps.Equal(earlier, settled) {
			t.Fatalf("round %d: the records of earlier rounds changed:\n now %v\nwere %v", run, earlier, settled)
		}
		maps.Copy(settled, current)
	}
	t.Logf("synchronous=%s, mode %s: survived %d SIGKILLs; %d acknowledged writes all present once; "+
		"%d unacknowledged writes committed; %d rows checked over the rounds (this round's by value, earlier ones' by count)",
		syncMode, mode, kills, acked, unacked, rowsChecked)
	if mode == "cleanup" {
		t.Logf("%d kills landed inside a Cleanup call; %d cleanups completed", inCleanup, cleanups)
	}
}

// crashSize is the number of kills a mode and the most acknowledged writes
// between two kills: 20 and 2000 by default, 8 and 500 under the race
// detector (every child is a race-instrumented binary) or with -short,
// 200 and 20000 with -rechist.long.
func crashSize() (kills, maxAcks int) {
	switch {
	case *longRuns:
		return 200, 20000
	case testing.Short() || raceEnabled():
		return 8, 500
	}
	return 20, 2000
}

// raceEnabled reports whether this test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// Every store acknowledged before a SIGKILL is in the file after it, once,
// with the default synchronous=FULL.
func TestCrashKillKeepsAcknowledgedWritesSyncFull(t *testing.T) {
	kills, maxAcks := crashSize()
	crashRounds(t, "store", "FULL", kills, maxAcks)
}

// The same with synchronous=NORMAL: it may lose the last commits on power
// loss, but not on a crash of the process.
func TestCrashKillKeepsAcknowledgedWritesSyncNormal(t *testing.T) {
	kills, maxAcks := crashSize()
	crashRounds(t, "store", "NORMAL", kills, maxAcks)
}

// A kill that lands while a retention cleanup is deleting rows leaves the
// file intact and every acknowledged (newer than the cutoff) write in it.
func TestCrashKillDuringCleanup(t *testing.T) {
	kills, maxAcks := crashSize()
	crashRounds(t, "cleanup", "FULL", max(kills/4, 3), maxAcks)
}
