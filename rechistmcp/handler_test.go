package rechistmcp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The SDK's DNS rebinding check stands unless the caller says it checks
// Host itself.
func TestHandlerLocalhostProtection(t *testing.T) {
	f := fill(t)
	db := openRead(t, f.path)
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`
	for _, c := range []struct {
		opts []Option
		want int
	}{{nil, http.StatusForbidden}, {[]Option{WithoutLocalhostProtection()}, http.StatusOK}} {
		srv := httptest.NewServer(Handler(db, c.opts...))
		req, err := http.NewRequestWithContext(callCtx(t), "POST", srv.URL+"/mcp", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "evil.example"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		client := &http.Client{Timeout: 30 * time.Second}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		srv.Close()
		if resp.StatusCode != c.want {
			t.Errorf("options %d: Host evil.example answered %d, want %d", len(c.opts), resp.StatusCode, c.want)
		}
	}
}

// A call past the query timeout is a tool error that says so: the query's
// own timeout, not the wait for a slot (a free slot is always taken).
func TestQueryTimeoutIsToolError(t *testing.T) {
	f := fill(t)
	cs := connectHTTP(t, openRead(t, f.path), WithQueryTimeout(time.Nanosecond))
	res := callRaw(t, cs, "query_history", map[string]any{"pattern": "*", "order": "oldest"})
	if !res.IsError || text(res) != "query_history took longer than 1ns and was stopped: narrow the pattern or the time range, or use aggregate with a wider bucket" {
		t.Fatalf("isError %v: %s", res.IsError, text(res))
	}
}
