package robustness

// Sync across kills: a sync process (this test binary, re-executed) pushes
// a source file to a destination and is killed with SIGKILL at a random
// moment, twenty times in a row, while the source grows; after every kill
// the destination holds exactly the source's rows up to its cursor, once,
// and after a final sync it holds every source row once.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil/pgtest"
)

func TestSyncKillSQLiteDestination(t *testing.T) {
	t.Parallel()
	syncKillRounds(t, filepath.Join(t.TempDir(), "dst.db"), false)
}

func TestSyncKillPostgresDestination(t *testing.T) {
	t.Parallel()
	syncKillRounds(t, pgtest.NewSchema(t), false)
}

// The children push over HTTP to a server (this process, the handler of
// `rechist serve --writable` on the destination file): a kill may cut a
// push on its way, its answer, or the client's look at the cursor after a
// lost answer.
func TestSyncKillHTTPDestination(t *testing.T) {
	t.Parallel()
	syncKillRounds(t, filepath.Join(t.TempDir(), "dst.db"), true)
}

// syncKillSize is the source's first rows, the rows added before each
// round, and the most source rows a batch covers: smaller under the race
// detector or -short, where every child is slower.
func syncKillSize() (initial, perRound, maxBatch int) {
	if testing.Short() || raceEnabled() {
		return 3000, 200, 100
	}
	return 15000, 800, 400
}

func syncKillRounds(t *testing.T, dstPath string, overHTTP bool) {
	const kills = 20
	const prefix = "gw1."
	seed := crashSeed(t)
	t.Logf("kill schedule seed %d (replay with %s=%d)", seed, crashEnvSeed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	initial, perRound, maxBatch := syncKillSize()

	srcPath := filepath.Join(t.TempDir(), "src.db")
	src, err := rechist.Open(t.Context(), srcPath)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	id, err := src.SourceID(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	fillSource(t, src, rng, initial)
	// Rows the source deletes before its first push: gone, not copied, and
	// not missed (the destination never had the chance).
	deleted, err := src.Delete(t.Context(), "sensor.3.temp", rechist.QueryParams{})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := rechist.Open(t.Context(), dstPath) // migrated before the children start
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	target, settle := dstPath, func() {}
	if overHTTP {
		target, settle = serveSync(t, dst)
	}

	deadline := time.Now().Add(2 * time.Minute)
	var total int64
	early, retries := 0, 0
	for round := range kills {
		if round > 0 {
			fillSource(t, src, rng, perRound)
		}
		p := startSyncChild(t, srcPath, target, prefix, 10+rng.IntN(maxBatch))
		// Kill after a few batches and a jitter, or at a random moment
		// from the start (during Open, the first read, the first batch).
		target := 1 + rng.IntN(6)
		var killAt <-chan time.Time
		if rng.IntN(4) == 0 {
			target = math.MaxInt
			killAt = time.After(time.Duration(rng.IntN(300)) * time.Millisecond)
		}
		batches := 0
	wait:
		for {
			select {
			case line, ok := <-p.lines:
				switch {
				case !ok:
					break wait
				case strings.HasPrefix(line, "retry"):
					retries++
				case strings.HasPrefix(line, "batch"):
					batches++
				}
				if batches >= target || strings.HasPrefix(line, "idle") && killAt == nil {
					time.Sleep(time.Duration(rng.IntN(15)) * time.Millisecond)
					break wait
				}
			case <-killAt:
				early++
				break wait
			case <-time.After(time.Until(deadline)):
				p.kill(t)
				t.Fatalf("round %d: the sync child made no progress before the deadline", round)
			}
		}
		p.kill(t)
		settle()

		got, st := destinationState(t, dst, id)
		sameMultiset(t, fmt.Sprintf("round %d, after the kill", round), got, multiset(t, src, prefix, st.Cursor))
		total = st.Sent
	}

	// The final push, in this process: everything arrives, once.
	r, err := rechist.Sync(t.Context(), src, dst, rechist.SyncPrefix(prefix))
	if err != nil {
		t.Fatalf("final Sync: %v", err)
	}
	want := multiset(t, src, prefix, -1)
	sameMultiset(t, "after the final sync", multiset(t, dst, "", -1), want)
	st, err := dst.SyncStatus(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	rows := int64(initial+(kills-1)*perRound) - deleted
	if st.Sent != rows || st.Missed != 0 || st.Gone != deleted || st.Cursor != r.SourceLast {
		t.Fatalf("destination's account of the source: sent %d, missed %d, gone %d, cursor %d; want %d, 0, %d, %d",
			st.Sent, st.Missed, st.Gone, st.Cursor, rows, deleted, r.SourceLast)
	}
	t.Logf("%d SIGKILLs (%d at a random moment from the start), %d rows sent before the last kill, %d by the final sync, %d gone (deleted before the first push); %d retried errors; every source row on the destination exactly once",
		kills, early, total, r.Copied, deleted, retries)
}
