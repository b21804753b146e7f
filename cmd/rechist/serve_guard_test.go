package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// guardSend makes one request to a running `rechist serve` with Host host (""
// keeps the URL's) and the headers hdr (pairs), and returns its status and
// body.
func guardSend(t *testing.T, method, target, host, body string, hdr ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// guardRecords is the answer of /api/records, asked as the server's own host.
func guardRecords(t *testing.T, base string) string {
	t.Helper()
	code, body := get(t, base+"/api/records")
	if code != 200 {
		t.Fatalf("/api/records: %d %s", code, body)
	}
	return body
}

// DNS rebinding against a real `rechist serve --writable` without a token:
// a Host that is not a loopback name is refused on reads and writes, and
// nothing is stored or deleted.
func TestServeGuardRebinding(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, "", "demo", "--days", "1", "--cities", "2", "--interval", "1h")
	base := startServe(t, dir, nil, "--writable")
	u, _ := url.Parse(base)
	before := guardRecords(t, base)

	if code, body := guardSend(t, "GET", base+"/api/records", "evil.example", ""); code != 403 || !strings.Contains(body, "--allowed-host") {
		t.Errorf("GET /api/records as evil.example: %d %s", code, body)
	}
	if code, body := guardSend(t, "POST", base+"/api/ingest", "evil.example", `{"name":"rebound","value":1}`,
		"Content-Type", "application/x-ndjson"); code != 403 {
		t.Errorf("POST /api/ingest as evil.example: %d %s", code, body)
	}
	if code, body := guardSend(t, "DELETE", base+"/api/records?pattern=*", "evil.example:"+u.Port(), ""); code != 403 {
		t.Errorf("DELETE /api/records as evil.example: %d %s", code, body)
	}
	if after := guardRecords(t, base); after != before {
		t.Errorf("refused writes changed the records:\n%s\nwant\n%s", after, before)
	}
	for _, host := range []string{"localhost:" + u.Port(), "[::1]:" + u.Port(), "127.0.0.1"} {
		if code, body := guardSend(t, "GET", base+"/api/records", host, ""); code != 200 {
			t.Errorf("GET /api/records as %s: %d %s", host, code, body)
		}
	}
}

// --allowed-host adds names the server answers to without a token (a
// reverse proxy's, an /etc/hosts alias); others are still refused.
func TestServeGuardAllowedHost(t *testing.T) {
	dir := t.TempDir()
	base := startServe(t, dir, nil, "--writable", "--allowed-host", "history.example", "--allowed-host", "other.example:8443")
	for host, want := range map[string]int{"history.example": 200, "History.Example:443": 200, "other.example:8443": 200,
		"other.example:9": 403, "evil.example": 403} {
		if code, body := guardSend(t, "GET", base+"/api/records", host, ""); code != want {
			t.Errorf("GET /api/records as %s: %d %s, want %d", host, code, body, want)
		}
	}
	// Behind a proxy that rewrites Host to the upstream's, a write from a
	// page of the allowed name is its own origin.
	if code, body := guardSend(t, "POST", base+"/api/ingest", "", `{"name":"a","value":1}`,
		"Content-Type", "application/x-ndjson", "Origin", "https://history.example", "Sec-Fetch-Site", "same-origin"); code != 200 {
		t.Errorf("a write from the allowed name: %d %s", code, body)
	}
}

// CSRF against a real `rechist serve --writable`: what a <form
// enctype="text/plain"> and a no-cors fetch of another site send is
// refused; a JSON Lines client without Origin (curl, a program) stores.
func TestServeGuardCSRF(t *testing.T) {
	dir := t.TempDir()
	base := startServe(t, dir, nil, "--writable")
	line := `{"name":"csrf.form","value":"=x"}`
	if code, body := guardSend(t, "POST", base+"/api/ingest", "", line, "Content-Type", "text/plain", "Origin", "http://evil.example"); code != 403 {
		t.Errorf("a text/plain form from evil.example: %d %s", code, body)
	}
	if code, body := guardSend(t, "POST", base+"/api/ingest", "", line, "Content-Type", "application/x-www-form-urlencoded",
		"Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"); code != 403 {
		t.Errorf("a no-cors urlencoded fetch from evil.example: %d %s", code, body)
	}
	if code, body := guardSend(t, "POST", base+"/api/ingest", "", line, "Content-Type", "application/x-www-form-urlencoded"); code != 415 {
		t.Errorf("curl --data-binary without a type: %d %s", code, body)
	}
	if got := guardRecords(t, base); got != "[]\n" {
		t.Fatalf("refused ingests stored: %s", got)
	}
	if code, body := guardSend(t, "POST", base+"/api/ingest", "", line, "Content-Type", "application/x-ndjson"); code != 200 {
		t.Errorf("JSON Lines from a program: %d %s", code, body)
	}
	if code, body := guardSend(t, "DELETE", base+"/api/records?pattern=*", "", "", "Origin", "http://evil.example"); code != 403 {
		t.Errorf("DELETE from evil.example: %d %s", code, body)
	}
	if got := guardRecords(t, base); !strings.Contains(got, `"csrf.form"`) {
		t.Errorf("after a refused delete: %s", got)
	}
	if code, body := guardSend(t, "DELETE", base+"/api/records?pattern=*", "", ""); code != 200 || !strings.Contains(body, `"deleted":1`) {
		t.Errorf("DELETE from a program: %d %s", code, body)
	}
}

// --allowed-host takes host names and host:port, nothing else.
func TestServeGuardAllowedHostRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"http://history.example", "*", "history.example/x", "history.example:99999", ""} {
		r := runCLI(t, dir, "", "serve", "--writable", "--allowed-host", name)
		if r.code != 2 || !strings.Contains(r.stderr, "--allowed-host: ") || !strings.Contains(r.stderr, "allowed host") {
			t.Errorf("--allowed-host %q: exit %d, %s", name, r.code, r.stderr)
		}
	}
}
