package rechisthttp

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// event is one Server-Sent Event.
type event struct {
	name, id, data string
}

// subscribe opens /api/stream and returns its events; the stream ends with
// ctx.
func subscribe(t *testing.T, ctx context.Context, url string, hdr ...string) (<-chan event, *http.Response) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		res.Body.Close()
		return nil, res
	}
	out := make(chan event, 64)
	go readEvents(ctx, res.Body, out)
	return out, res
}

// readEvents parses Server-Sent Events from body onto out, closed when the
// stream ends.
func readEvents(ctx context.Context, body io.ReadCloser, out chan<- event) {
	defer close(out)
	defer body.Close()
	sc := bufio.NewScanner(body)
	var ev event
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.name != "" {
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
			ev = event{}
		case strings.HasPrefix(line, "event: "):
			ev.name = line[7:]
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		}
	}
}

// next returns the next record event, failing the test if the stream ends
// or ctx does first.
func next(t *testing.T, ctx context.Context, events <-chan event) (int64, row) {
	t.Helper()
	for {
		select {
		case <-ctx.Done():
			t.Fatal("waiting for an event:", ctx.Err())
		case ev, ok := <-events:
			if !ok {
				t.Fatal("the stream ended")
			}
			if ev.name != "record" {
				t.Fatalf("event %q: %s", ev.name, ev.data)
			}
			id, err := strconv.ParseInt(ev.id, 10, 64)
			if err != nil {
				t.Fatalf("id %q", ev.id)
			}
			var r row
			if err := json.Unmarshal([]byte(ev.data), &r); err != nil {
				t.Fatalf("data %q: %v", ev.data, err)
			}
			return id, r
		}
	}
}

// TestStreamFromAnotherProcess: a subscriber of a read-only server sees
// every row another process stores after it subscribed, once, in order;
// a second one resumes from Last-Event-ID without loss or duplicates.
func TestStreamFromAnotherProcess(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "history.db")
	w, err := rechist.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	store(t, w, "s::old", 1000, `"before the stream"`)
	w.Close()
	db, err := rechist.Open(t.Context(), path, rechist.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := NewHandler(db, WithPollInterval(20*time.Millisecond))
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.CloseStreams()

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	all, _ := subscribe(t, ctx, srv.URL+"/api/stream?pattern=s::*")
	sub, cancelFirst := context.WithCancel(ctx)
	first, _ := subscribe(t, sub, srv.URL+"/api/stream?pattern=s::a")

	const n = 300
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := helperErr(ctx, path, "write", "s::a", strconv.Itoa(n)); err != nil {
			t.Error(err)
			cancel()
		}
	}()
	// The first subscriber reads a third, leaves; a new one resumes.
	var last int64
	for i := range n / 3 {
		id, r := next(t, ctx, first)
		if r.Topic != "s::a" || string(r.Payload) != strconv.Itoa(i) || id <= last {
			t.Fatalf("event %d: id %d after %d, %+v", i, id, last, r)
		}
		last = id
	}
	cancelFirst()
	resumed, _ := subscribe(t, ctx, srv.URL+"/api/stream?pattern=s::a", "Last-Event-ID", strconv.FormatInt(last, 10))
	for i := n / 3; i < n; i++ {
		id, r := next(t, ctx, resumed)
		if string(r.Payload) != strconv.Itoa(i) || id <= last {
			t.Fatalf("resumed event %d: id %d after %d, %+v", i, id, last, r)
		}
		last = id
	}
	last = 0
	for i := range n {
		id, r := next(t, ctx, all)
		if r.Topic != "s::a" || string(r.Payload) != strconv.Itoa(i) || id <= last {
			t.Fatalf("event %d: id %d after %d, %+v", i, id, last, r)
		}
		last = id
	}
	<-done
	// Nothing more: a row of another record is the next event.
	w, err = rechist.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	store(t, w, "s::b", time.Now().UnixMilli(), `"after"`)
	w.Close()
	if _, r := next(t, ctx, all); r.Topic != "s::b" {
		t.Errorf("after the helper's rows: %+v", r)
	}
}

func TestStreamEnds(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	h := NewHandler(db, WithPollInterval(10*time.Millisecond))
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	if _, res := subscribe(t, ctx, srv.URL+"/api/stream", "Last-Event-ID", "x"); res.StatusCode != 400 {
		t.Errorf("a bad Last-Event-ID: %d", res.StatusCode)
	}
	if _, res := subscribe(t, ctx, srv.URL+"/api/stream?pattern=%00"); res.StatusCode != 400 {
		t.Errorf("a bad pattern: %d", res.StatusCode)
	}
	a, _ := subscribe(t, ctx, srv.URL+"/api/stream")
	store(t, db, "x", 5, `1`)
	if _, r := next(t, ctx, a); r.Topic != "x" || r.TS != 5 {
		t.Errorf("event: %+v", r)
	}
	h.CloseStreams()
	if ev := <-a; ev.name != "closed" {
		t.Errorf("after CloseStreams: %+v", ev)
	}
	if _, ok := <-a; ok {
		t.Error("the stream goes on after CloseStreams")
	}
	if _, res := subscribe(t, ctx, srv.URL+"/api/stream"); res.StatusCode != 503 {
		t.Errorf("a stream after CloseStreams: %d", res.StatusCode)
	}

	h2 := NewHandler(db, WithPollInterval(10*time.Millisecond))
	srv2 := httptest.NewServer(h2)
	defer srv2.Close()
	b, _ := subscribe(t, ctx, srv2.URL+"/api/stream")
	db.Close()
	if ev := <-b; ev.name != "closed" {
		t.Errorf("after the DB closed: %+v", ev)
	}
}

// TestStreamAfterAQuietSpell: after a quiet spell longer than the write
// timeout, a page of events larger than the stream's buffer still arrives
// whole. (The write deadline is absolute: set only at flush, it had
// expired when a full buffer reached the socket before the next flush, and
// the stream ended without a word; the full load under -race found it.)
func TestStreamAfterAQuietSpell(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	h := NewHandler(db, WithPollInterval(10*time.Millisecond), WithHeartbeat(time.Hour))
	h.cfg.writeTimeout = 100 * time.Millisecond
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	events, _ := subscribe(t, ctx, srv.URL+"/api/stream")
	store(t, db, "first", 1, `1`)
	next(t, ctx, events) // a flush: the deadline is now + 100 ms
	time.Sleep(3 * h.cfg.writeTimeout)
	var recs []rechist.Record[json.RawMessage]
	for i := range 2000 { // about 100 KiB of events, three times the buffer
		recs = append(recs, rechist.Record[json.RawMessage]{Name: "page", Value: json.RawMessage(`"` + strings.Repeat("x", 20) + `"`), StoredAt: time.UnixMilli(int64(i))})
	}
	if err := rechist.NewRepo[json.RawMessage](db).StoreMany(ctx, recs); err != nil {
		t.Fatal(err)
	}
	for range recs {
		next(t, ctx, events)
	}
}
