package rechisthttp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// storeRows stores n rows of about size bytes under name, one a
// millisecond from 0, in one StoreMany.
func storeRows(t *testing.T, db *rechist.DB, name string, n, size int) {
	t.Helper()
	pad := strings.Repeat("x", size)
	recs := make([]rechist.Record[json.RawMessage], n)
	for i := range recs {
		recs[i] = rechist.Record[json.RawMessage]{Name: name, StoredAt: time.UnixMilli(int64(i)),
			Value: json.RawMessage(fmt.Sprintf(`{"v":%d,"pad":%q}`, i, pad))}
	}
	if err := rechist.NewRepo[json.RawMessage](db).StoreMany(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
}

// smallBuffers keeps the server's socket send buffers small, so a client
// that stops reading blocks the server's writes after little data.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// tightServer serves h over loopback with a small socket send buffer (the
// client's receive buffer stays at its first size, about 128 KiB, while
// it does not read); done receives once each request's handler has returned (or been
// cut). The client's connections close at the end of the test, before the
// server, so a handler blocked on one ends.
func tightServer(t *testing.T, h http.Handler) (url string, client *http.Client, done <-chan struct{}) {
	t.Helper()
	ch := make(chan struct{}, 16)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { ch <- struct{}{} }()
		h.ServeHTTP(w, r)
	}))
	srv.Listener = smallBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return srv.URL, &http.Client{Transport: tr}, ch
}

// open sends GET url and returns the response once its headers are in.
func open(t *testing.T, client *http.Client, url string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
	}
	return res
}

// A client that stops reading is cut once a write stays blocked for the
// write timeout, on every endpoint that streams a large answer, and what
// it got is broken, never a short answer that looks whole. (Before: the
// handler waited for the client for ever, holding its snapshot.)
func TestStalledClientIsCut(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	storeRows(t, db, "big", 20_000, 100) // about 3 MB as rows, 2 MB as buckets
	for _, path := range []string{
		"/api/export?format=jsonl",
		"/api/export?format=csv",
		"/api/query?limit=0",
		"/api/aggregate?field=v&every=1ms",
	} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			h := NewHandler(db)
			h.cfg.writeTimeout = 300 * time.Millisecond
			url, client, done := tightServer(t, h)
			res := open(t, client, url+path)
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("a client that stopped reading was not cut within 30 s")
			}
			b, err := io.ReadAll(res.Body)
			if err == nil {
				t.Fatalf("the cut answer (%d bytes) reads as whole", len(b))
			}
		})
	}
}

// A client that reads slowly, but keeps reading, gets its whole answer
// even when the download takes longer than the write timeout: the
// deadline is per write.
func TestSlowReaderIsServed(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	storeRows(t, db, "big", 4000, 200)
	h := NewHandler(db)
	h.cfg.writeTimeout = 500 * time.Millisecond
	url, client, _ := tightServer(t, h)
	res := open(t, client, url+"/api/export?format=jsonl")
	buf := make([]byte, 16<<10)
	var got []byte
	start := time.Now()
	for {
		n, err := res.Body.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes in %v: %v", len(got), time.Since(start), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if lines := strings.Count(string(got), "\n"); lines != 4000 {
		t.Errorf("%d lines, want 4000", lines)
	}
	t.Logf("%d bytes in %v", len(got), time.Since(start))
}

// blockedWriter is a ResponseWriter whose first Write blocks until
// release is closed: a handler holding its answer, as with a client that
// does not read.
type blockedWriter struct {
	hdr      http.Header
	writing  chan struct{} // closed at the first Write
	release  chan struct{}
	once     sync.Once
	mu       sync.Mutex
	body     strings.Builder
	wroteHdr bool
}

func newBlockedWriter() *blockedWriter {
	return &blockedWriter{hdr: http.Header{}, writing: make(chan struct{}), release: make(chan struct{})}
}

func (w *blockedWriter) Header() http.Header { return w.hdr }
func (w *blockedWriter) WriteHeader(int)     {}
func (w *blockedWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.writing) })
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.body.Write(p)
}

// Heavy requests beyond the limit wait for a slot, at most the query
// timeout, then answer 503 with Retry-After; a slot frees when its
// request ends. (Before: no limit, every request ran at once, and stalled
// exports held the database's connections.)
func TestHeavyQueriesWaitForASlot(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	storeRows(t, db, "big", 2000, 100)
	t.Run("default", func(t *testing.T) {
		t.Parallel()
		h := NewHandler(db, WithQueryTimeout(200*time.Millisecond))
		checkSlots(t, h, 2*runtime.GOMAXPROCS(0))
	})
	t.Run("WithMaxConcurrentQueries", func(t *testing.T) {
		t.Parallel()
		h := NewHandler(db, WithQueryTimeout(200*time.Millisecond), WithMaxConcurrentQueries(1))
		checkSlots(t, h, 1)
	})
}

// checkSlots holds h's slots slots with exports whose writes block, and
// checks that heavy requests are then refused and the others served.
func checkSlots(t *testing.T, h *Handler, slots int) {
	var held []*blockedWriter
	var wg sync.WaitGroup
	defer wg.Wait()
	releaseAll := sync.OnceFunc(func() {
		for _, w := range held {
			close(w.release)
		}
	})
	defer releaseAll()
	for range slots {
		w := newBlockedWriter()
		held = append(held, w)
		req := httptest.NewRequest("GET", "/api/export", nil).WithContext(t.Context())
		req.Host = "127.0.0.1" // not httptest's example.com, which the guard refuses
		wg.Go(func() {
			defer func() { recover() }()
			h.ServeHTTP(w, req)
		})
		select {
		case <-w.writing:
		case <-time.After(time.Minute):
			t.Fatal("an export did not start writing within a minute")
		}
	}
	// Each request gives up after 30 s at most, so a test that fails ends.
	bounded := func(path string) answer {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		req := httptest.NewRequest("GET", path, nil).WithContext(ctx)
		req.Host = "127.0.0.1" // not httptest's example.com, which the guard refuses
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return answer{rec.Code, rec.Body.Bytes(), rec.Header()}
	}
	for _, path := range []string{"/api/query?limit=0", "/api/aggregate?every=1s", "/api/export"} {
		if a := bounded(path); a.code != 503 || a.hdr.Get("Retry-After") == "" {
			t.Errorf("%s with %d heavy requests in progress: %d %s", path, slots, a.code, a.body)
		}
	}
	// The others do not wait for a slot, and the database's connections
	// are free: a blocked answer holds no snapshot.
	if a := bounded("/api/records"); a.code != 200 {
		t.Errorf("/api/records: %d %s", a.code, a.body)
	}
	releaseAll()
	wg.Wait()
	for _, w := range held {
		if n := strings.Count(w.body.String(), "\n"); n != 2000 {
			t.Errorf("a held export, released, wrote %d lines, want 2000", n)
		}
	}
	if a := do(t, h, "GET", "/api/query", nil); a.code != 200 {
		t.Errorf("/api/query once the slots are free: %d %s", a.code, a.body)
	}
}
