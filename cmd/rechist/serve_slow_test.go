package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// TestServeCutsAStalledExport: `rechist serve` cuts a download whose
// client stopped reading once a write stays blocked for 10 s, so the
// export does not hold its request (and its database snapshot) for as long
// as the client stays connected; the client sees a broken answer. (Before:
// the server had no write deadline and waited for ever.)
func TestServeCutsAStalledExport(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 10 s write deadline")
	}
	t.Parallel()
	dir := t.TempDir()
	db, err := rechist.Open(t.Context(), filepath.Join(dir, "data", "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", 500)
	recs := make([]rechist.Record[json.RawMessage], 40_000) // about 20 MB of JSON Lines
	for i := range recs {
		recs[i] = rechist.Record[json.RawMessage]{Name: fmt.Sprintf("r%02d", i%10), StoredAt: time.UnixMilli(int64(i)),
			Value: json.RawMessage(fmt.Sprintf(`{"v":%d,"pad":%q}`, i, pad))}
	}
	if err := rechist.NewRepo[json.RawMessage](db).StoreMany(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	url := startServe(t, dir, nil)

	// A client that reads the headers and stops: the sockets' buffers take
	// a few MB of the answer, then the server's writes block.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url+"/api/export?format=jsonl", nil)
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("export: %d", res.StatusCode)
	}

	// The server counts the request once its handler has ended (cut: 499).
	cut := `rechist_http_requests_total{code="499",route="/api/export"} 1`
	deadline := time.Now().Add(45 * time.Second)
	for {
		_, metrics := get(t, url+"/metrics")
		if strings.Contains(metrics, cut) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stalled export was not cut within 45 s; /metrics has no %s", cut)
		}
		time.Sleep(500 * time.Millisecond)
	}
	b, err := io.ReadAll(res.Body)
	if err == nil {
		t.Fatalf("the cut export (%d bytes) reads as whole", len(b))
	}
	if n := strings.Count(string(b), "\n"); n >= len(recs) {
		t.Errorf("the cut export has %d lines of %d", n, len(recs))
	}
}
