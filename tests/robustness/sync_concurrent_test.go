package robustness

// Several sync processes into one destination at once: two sources, each
// pushed by two processes (so the two of one source race for its cursor),
// while the sources keep growing. Afterwards the destination holds each
// row of each source exactly once, under that source's prefix.

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil/pgtest"
)

func TestSyncConcurrentSourcesSQLiteDestination(t *testing.T) {
	t.Parallel()
	syncConcurrent(t, filepath.Join(t.TempDir(), "dst.db"))
}

func TestSyncConcurrentSourcesPostgresDestination(t *testing.T) {
	t.Parallel()
	syncConcurrent(t, pgtest.NewSchema(t))
}

func syncConcurrent(t *testing.T, dstPath string) {
	seed := crashSeed(t)
	t.Logf("seed %d (replay with %s=%d)", seed, crashEnvSeed, seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	initial, rounds := 3000, 20
	if testing.Short() || raceEnabled() {
		initial, rounds = 1000, 10
	}
	type source struct {
		path, prefix, id string
		db               *rechist.DB
	}
	var srcs []*source
	for _, name := range []string{"a", "b"} {
		s := &source{path: filepath.Join(t.TempDir(), name+".db"), prefix: name + "."}
		var err error
		if s.db, err = rechist.Open(t.Context(), s.path); err != nil {
			t.Fatal(err)
		}
		defer s.db.Close()
		if s.id, err = s.db.SourceID(t.Context()); err != nil {
			t.Fatal(err)
		}
		fillSource(t, s.db, rng, initial)
		srcs = append(srcs, s)
	}
	dst, err := rechist.Open(t.Context(), dstPath) // migrated before the children start
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()

	var conflicts, retries atomic.Int64
	var procs []*syncProc
	var drained sync.WaitGroup
	for _, s := range srcs {
		for range 2 {
			p := startSyncChild(t, s.path, dstPath, s.prefix, 20+rng.IntN(180))
			procs = append(procs, p)
			drained.Go(func() {
				for line := range p.lines {
					switch {
					case line == "conflict":
						conflicts.Add(1)
					case strings.HasPrefix(line, "retry"):
						retries.Add(1)
					}
				}
			})
		}
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		for _, p := range procs {
			_ = p.cmd.Process.Kill()
		}
		drained.Wait()
		for _, p := range procs {
			p.kill(t)
		}
	}
	defer stop()

	// The sources grow while they are pushed.
	for range rounds {
		for _, s := range srcs {
			fillSource(t, s.db, rng, 50)
		}
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
	}
	// Wait until the destination has caught up with both.
	deadline := time.Now().Add(time.Minute)
	for _, s := range srcs {
		last, err := s.db.LastID(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for {
			st, err := dst.SyncStatus(t.Context(), s.id)
			if err != nil {
				t.Fatal(err)
			}
			if st.Cursor == last {
				break
			}
			if time.Now().After(deadline) {
				stop()
				t.Fatalf("source %s: the destination's cursor is at %d after a minute, the source at %d", s.prefix, st.Cursor, last)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	stop()

	want := map[row]int{}
	total := 0
	for _, s := range srcs {
		for r, n := range multiset(t, s.db, s.prefix, -1) {
			want[r] += n
			total += n
		}
		st, err := dst.SyncStatus(t.Context(), s.id)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := s.db.LastID(t.Context()); st.Sent != n {
			t.Errorf("source %s: the destination counts %d rows sent, the source has %d", s.prefix, st.Sent, n)
		}
	}
	sameMultiset(t, "after the concurrent pushes", multiset(t, dst, "", -1), want)
	t.Logf("2 sources, 2 sync processes each, %d rows; %d conflicts between the two processes of one source (each restarted from the cursor), %d retried errors; every row on the destination exactly once",
		total, conflicts.Load(), retries.Load())
}
