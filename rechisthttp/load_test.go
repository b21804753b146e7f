package rechisthttp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoad is a bounded loopback load: 64 clients querying, 16 ingesting
// and 100 stream subscribers at once, on one SQLite file. Every subscriber
// must see every ingested row exactly once, in commit order. It logs its
// figures (go test -v -run TestLoad ./rechisthttp/); docs/serve.md has a
// run's.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test; without -short it runs")
	}
	queriers, ingesters, subscribers := 64, 16, 100
	if raceEnabled {
		// Under the race detector on two cores the full load takes over
		// two minutes (p99 latency 20 s); a quarter of it still checks
		// every row once, in order. (The full load under -race once had
		// streams end early: the write deadline of a quiet stream had
		// expired before a page larger than its buffer was written; see
		// TestStreamAfterAQuietSpell.)
		queriers, ingesters, subscribers = 16, 4, 25
	}
	const (
		posts, rowsPerPost = 20, 10 // per ingester
		queries            = 30     // per querier
	)
	total := ingesters * posts * rowsPerPost
	db := openDB(t)
	for i := range 50 {
		store(t, db, fmt.Sprintf("base::%02d", i%10), int64(1_000_000+i), fmt.Sprintf(`{"v":%d}`, i))
	}
	h := NewHandler(db, Writable(), WithPollInterval(100*time.Millisecond))
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.CloseStreams()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	// Subscribers first; each reads until it has every row.
	type seen struct {
		ids   []int64
		names []string
	}
	got := make([]seen, subscribers)
	var subs sync.WaitGroup
	var ready sync.WaitGroup
	for s := range subscribers {
		ready.Add(1)
		subs.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/stream?pattern=load::*", nil)
			res, err := client.Do(req)
			ready.Done()
			if err != nil {
				t.Error(err)
				return
			}
			events := make(chan event, 64)
			go readEvents(ctx, res.Body, events)
			for len(got[s].ids) < total {
				var ev event
				select {
				case ev = <-events:
				case <-ctx.Done():
					t.Errorf("subscriber %d: %d of %d rows: %v", s, len(got[s].ids), total, ctx.Err())
					return
				}
				if ev.name != "record" {
					if ev.name == "" {
						t.Errorf("subscriber %d: the stream ended after %d rows", s, len(got[s].ids))
						return
					}
					if ev.name != "" && !strings.HasPrefix(ev.name, ":") {
						t.Errorf("subscriber %d: event %s: %s", s, ev.name, ev.data)
					}
					continue
				}
				var id int64
				fmt.Sscan(ev.id, &id)
				var r row
				json.Unmarshal([]byte(ev.data), &r)
				got[s].ids = append(got[s].ids, id)
				got[s].names = append(got[s].names, r.Topic)
			}
		})
	}
	// A stream takes its start id before it answers, so once every Do has
	// returned, every row ingested below is after it.
	ready.Wait()

	start := time.Now()
	var lat sync.Mutex
	var latencies []time.Duration
	var requests atomic.Int64
	var work sync.WaitGroup
	for q := range queriers {
		work.Go(func() {
			for i := range queries {
				path := []string{"/api/query?pattern=base::*&limit=5", "/api/records", "/api/query?limit=0&pattern=base::0*",
					"/api/aggregate?pattern=base::*&every=1s"}[(q+i)%4]
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
				res, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					t.Errorf("%s: %d", path, res.StatusCode)
				}
				d := time.Since(t0)
				lat.Lock()
				latencies = append(latencies, d)
				lat.Unlock()
				requests.Add(1)
			}
		})
	}
	for g := range ingesters {
		work.Go(func() {
			for p := range posts {
				var b strings.Builder
				for r := range rowsPerPost {
					fmt.Fprintf(&b, `{"name":"load::%02d","value":{"p":%d,"r":%d}}`+"\n", g, p, r)
				}
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/api/ingest", strings.NewReader(b.String()))
				req.Header.Set("Content-Type", "application/x-ndjson")
				res, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					t.Errorf("ingest: %d", res.StatusCode)
				}
				lat.Lock()
				latencies = append(latencies, time.Since(t0))
				lat.Unlock()
				requests.Add(1)
			}
		})
	}
	work.Wait()
	elapsed := time.Since(start)
	subs.Wait()
	streamed := time.Since(start)

	// Every subscriber saw the same rows: all of them, once, by id.
	for s := range got {
		if len(got[s].ids) != total {
			continue // reported above
		}
		if !slices.IsSorted(got[s].ids) || len(slices.Compact(slices.Clone(got[s].ids))) != total {
			t.Errorf("subscriber %d: ids out of order or repeated", s)
		}
		if s > 0 && !slices.Equal(got[s].ids, got[0].ids) {
			t.Errorf("subscriber %d saw other rows than subscriber 0", s)
		}
	}
	slices.Sort(latencies)
	p := func(q float64) time.Duration {
		return latencies[int(q*float64(len(latencies)-1))].Round(time.Microsecond)
	}
	t.Logf("%d requests (%d queriers, %d ingesters) in %v: %.0f requests/s, p50 %v, p99 %v; %d rows to %d subscribers (%d events) in %v: %.0f events/s",
		requests.Load(), queriers, ingesters, elapsed.Round(time.Millisecond), float64(requests.Load())/elapsed.Seconds(),
		p(0.5), p(0.99), total, subscribers, total*subscribers, streamed.Round(time.Millisecond),
		float64(total*subscribers)/streamed.Seconds())
}
