package robustness

// The destination server stopped and started again during a push: a
// private PostgreSQL cluster (initdb + pg_ctl on a free port, so stopping
// it disturbs no other test) is stopped twice while a sync process pushes
// to it, once as in a crash (pg_ctl -m immediate) and once cleanly (-m
// fast). The sync process retries until the server is back and goes on
// from the cursor; afterwards the server holds every source row once.

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

func TestSyncPostgresServerStoppedDuringPush(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	seed := crashSeed(t)
	t.Logf("seed %d (replay with %s=%d)", seed, crashEnvSeed, seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	srcPath, src, last, batch := outageSource(t, rng)
	dst, err := rechist.Open(t.Context(), c.url()) // migrated before the child starts
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}

	p := startSyncChild(t, srcPath, c.url(), "gw1.", batch)
	defer p.kill(t)
	w := watchChild(p, last, c.log)
	for _, mode := range []string{"immediate", "fast"} {
		w.next(t, false)
		w.next(t, false)
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
		if err := c.stop(mode); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // the child fails and retries meanwhile
		if err := c.start(); err != nil {
			t.Fatalf("restart: %v\n%s", err, c.log())
		}
	}
	w.next(t, true)
	beforeKill := w.retries
	p.kill(t)

	dst, err = rechist.Open(t.Context(), c.url())
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	id, _ := src.SourceID(t.Context())
	got, st := destinationState(t, dst, id)
	sameMultiset(t, "after two stops of the server", got, multiset(t, src, "gw1.", -1))
	if st.Cursor != last || st.Sent != last {
		t.Fatalf("destination's account: cursor %d, sent %d; want %d, %d", st.Cursor, st.Sent, last, last)
	}
	// beforeKill may be 0: a stop that lands on a COMMIT is answered by
	// the engine itself once the server is back (pg_xact_status), and a
	// pool whose connections idled for a second pings them before use.
	t.Logf("%d rows pushed through two server stops (immediate, fast); the sync process retried %d times (failures seen; a lost COMMIT is resolved inside the engine); every row on the server exactly once",
		last, beforeKill)
}
