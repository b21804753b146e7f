package rechisthttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/seed178a96f3/rechist"
)

// bearer adds a token to every request an MCP client sends.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// /mcp is the MCP server (package rechistmcp) behind serve's rules: the
// SDK's own client lists the tools and calls one with the token as a
// Bearer header; without the token, from a Host that is not allowed, or
// from another site's page it is refused before the MCP server sees it.
func TestMCPBehindTheHandlersRules(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "history.db")
	w, err := rechist.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := rechist.NewRepo[map[string]float64](w).Store(t.Context(), "temperature::vienna", map[string]float64{"celsius": 3.5}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := rechist.Open(t.Context(), path, rechist.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	srv := httptest.NewServer(NewHandler(db, WithToken("sesame")))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "rechisthttp-test", Version: "v0"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   srv.URL + "/mcp",
		HTTPClient: &http.Client{Transport: bearer{"sesame", http.DefaultTransport}},
		MaxRetries: -1, DisableStandaloneSSE: true,
	}, nil)
	if err != nil {
		t.Fatalf("connecting with the token: %v", err)
	}
	defer cs.Close()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tools.Tools) == 0 {
		t.Fatal("no tools listed")
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "latest_values", Arguments: map[string]any{"pattern": "temperature::*"}})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text.WriteString(tc.Text)
		}
	}
	if res.IsError || !strings.Contains(text.String(), "temperature::vienna") || !strings.Contains(text.String(), "3.5") {
		t.Fatalf("latest_values: isError %v: %s", res.IsError, text.String())
	}

	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`
	for _, c := range []struct {
		name string
		hdr  []string
		code int
		want string
	}{
		{"no token", nil, http.StatusUnauthorized, "a valid token is required"},
		{"a wrong token", []string{"Authorization", "Bearer nope"}, http.StatusUnauthorized, "a valid token is required"},
		{"another site's page", []string{"Authorization", "Bearer sesame", "Origin", "https://evil.example"}, http.StatusForbidden, "another site"},
		{"the token", []string{"Authorization", "Bearer sesame"}, http.StatusOK, ""},
	} {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/mcp", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		for i := 0; i+1 < len(c.hdr); i += 2 {
			if c.hdr[i] == "Host" {
				req.Host = c.hdr[i+1]
			} else {
				req.Header.Set(c.hdr[i], c.hdr[i+1])
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		resp.Body.Close()
		if resp.StatusCode != c.code || !strings.Contains(b.String(), c.want) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, resp.StatusCode, b.String(), c.code, c.want)
		}
	}
}

// With a token and no allowed hosts any Host passes (the token is the
// guard); with allowed hosts, a Host not among them is refused at /mcp
// as everywhere.
func TestMCPHostRule(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "history.db")
	w, err := rechist.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := rechist.Open(t.Context(), path, rechist.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	srv := httptest.NewServer(NewHandler(db))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/mcp", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "evil.example"
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("Host evil.example without a token: %d, want 403", resp.StatusCode)
	}
}
