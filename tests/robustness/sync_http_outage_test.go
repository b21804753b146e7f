package robustness

// The sync server (`rechist serve --writable`'s handler) stopped and
// started again during pushes over HTTP: twice its connections are cut and
// its listener closed while a sync process pushes, and a new server on the
// same address takes over after a pause. The sync process retries until
// the server is back (a push whose answer was cut is looked up or reported
// as unknown, never sent twice) and goes on from the cursor; afterwards
// the destination holds every source row once.

import (
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/rechisthttp"
)

func TestSyncHTTPServerStoppedDuringPush(t *testing.T) {
	t.Parallel()
	seed := crashSeed(t)
	t.Logf("seed %d (replay with %s=%d)", seed, crashEnvSeed, seed)
	rng := rand.New(rand.NewPCG(seed, 4))
	srcPath, src, last, batch := outageSource(t, rng)
	dst, err := rechist.Open(t.Context(), filepath.Join(t.TempDir(), "dst.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	handler := rechisthttp.NewHandler(dst, rechisthttp.Writable(), rechisthttp.WithToken(syncToken))
	srv := httptest.NewServer(handler)
	addr := srv.Listener.Addr().String()
	defer func() { srv.Close() }()

	p := startSyncChild(t, srcPath, srv.URL, "gw1.", batch)
	defer p.kill(t)
	w := watchChild(p, last, func() string { return "" })
	for range 2 {
		w.next(t, false)
		w.next(t, false)
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
		srv.CloseClientConnections()
		srv.Close()
		time.Sleep(300 * time.Millisecond) // the child fails and retries meanwhile
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen again on %s: %v", addr, err)
		}
		srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: handler}}
		srv.Start()
	}
	w.next(t, true)
	p.kill(t)

	id, _ := src.SourceID(t.Context())
	got, st := destinationState(t, dst, id)
	sameMultiset(t, "after two stops of the server", got, multiset(t, src, "gw1.", -1))
	if st.Cursor != last || st.Sent != last {
		t.Fatalf("destination's account: cursor %d, sent %d; want %d, %d", st.Cursor, st.Sent, last, last)
	}
	t.Logf("%d rows pushed over HTTP through two stops of the server; the sync process retried %d times; every row on the server exactly once",
		last, w.retries)
}
