package rechisthttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// guardSend is one request to h with Host host and the headers hdr (pairs),
// exactly as given: no default Content-Type, unlike do. It is bounded by a
// minute, so a stream that should have been refused cannot hang the test.
func guardSend(t *testing.T, h http.Handler, method, host, target, body string, hdr ...string) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	req := httptest.NewRequest(method, target, strings.NewReader(body)).WithContext(ctx)
	req.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{rec.Code, rec.Body.Bytes(), rec.Header()}
}

// guardRows is how many rows the handler's database holds.
func guardRows(t *testing.T, h http.Handler) int {
	t.Helper()
	return decodeQuery(t, guardSend(t, h, "GET", "127.0.0.1", "/api/query?limit=0", "")).Total
}

// guardRefused says whether a is a JSON error with code whose message holds
// every one of want.
func guardRefused(a answer, code int, want ...string) bool {
	var e struct{ Error string }
	if a.code != code || json.Unmarshal(a.body, &e) != nil {
		return false
	}
	for _, w := range want {
		if !strings.Contains(e.Error, w) {
			return false
		}
	}
	return true
}

const ndjson = "application/x-ndjson"

// DNS rebinding: a page of evil.example whose name now resolves to
// 127.0.0.1 talks to the loopback server as evil.example. Without a token
// only loopback names pass, on every route, reads and writes.
func TestGuardHost(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	store(t, db, "a", 1000, `1`)
	h := NewHandler(db, Writable())
	for _, host := range []string{"localhost", "localhost:8080", "LocalHost:8080", "127.0.0.1", "127.0.0.1:1",
		"127.1.2.3:80", "[::1]", "[::1]:8080", "[0:0:0:0:0:0:0:1]:8080"} {
		for _, path := range []string{"/api/records", "/healthz", "/", "/metrics"} {
			if a := guardSend(t, h, "GET", host, path, ""); a.code != 200 {
				t.Errorf("GET %s as %s: %d %s", path, host, a.code, a.body)
			}
		}
	}
	for _, host := range []string{"evil.example", "evil.example:8080", "localhost.evil.example", "127.0.0.1.evil.example",
		"10.0.0.1:8080", "[2001:db8::1]:8080", "0.0.0.0:8080", ""} {
		for _, path := range []string{"/api/records", "/api/query", "/healthz", "/", "/metrics"} {
			if a := guardSend(t, h, "GET", host, path, ""); !guardRefused(a, 403, "--allowed-host", "DNS rebinding") {
				t.Errorf("GET %s as %q: %d %s, want a 403 that names --allowed-host", path, host, a.code, a.body)
			}
		}
		if a := guardSend(t, h, "POST", host, "/api/ingest", `{"name":"rebound","value":1}`, "Content-Type", ndjson); a.code != 403 {
			t.Errorf("ingest as %q: %d %s", host, a.code, a.body)
		}
		if a := guardSend(t, h, "DELETE", host, "/api/records?pattern=*", ""); a.code != 403 {
			t.Errorf("delete as %q: %d %s", host, a.code, a.body)
		}
	}
	if n := guardRows(t, h); n != 1 {
		t.Errorf("refused writes changed the rows: %d, want 1", n)
	}
	// Refusals are counted under their route.
	if a := guardSend(t, h, "GET", "localhost", "/metrics", ""); !strings.Contains(string(a.body), `rechist_http_requests_total{code="403",route="/api/records"}`) {
		t.Errorf("/metrics does not count the refusals:\n%s", a.body)
	}
	// The stream too (once: unguarded, it would run until guardSend's bound).
	if a := guardSend(t, h, "GET", "evil.example", "/api/stream", ""); !guardRefused(a, 403, "--allowed-host") {
		t.Errorf("GET /api/stream as evil.example: %d %s", a.code, a.body)
	}
}

// With a token a rebinding page is stopped by the token it does not know;
// the Host is not checked, so the server can be reached by any name.
func TestGuardHostWithToken(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	h := NewHandler(db, WithToken("s3cret"))
	if a := guardSend(t, h, "GET", "evil.example", "/api/records", ""); a.code != 401 {
		t.Errorf("no token, any Host: %d %s", a.code, a.body)
	}
	if a := guardSend(t, h, "GET", "history.example:8080", "/api/records", "", "Authorization", "Bearer s3cret"); a.code != 200 {
		t.Errorf("token, any Host: %d %s", a.code, a.body)
	}
}

// CSRF: what a plain <form enctype="text/plain"> or a no-cors fetch of
// another site sends to a writable server on the user's machine.
func TestGuardWrites(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	store(t, db, "keep", 1000, `1`)
	h := NewHandler(db, Writable())
	const host, self = "127.0.0.1:8080", "http://127.0.0.1:8080"
	line := `{"name":"csrf.form","value":"=x"}`
	for _, tc := range []struct {
		name string
		hdr  []string
		code int
		want string
	}{
		{"form text/plain", []string{"Content-Type", "text/plain", "Origin", "http://evil.example"}, 403, "cross-site request forgery"},
		{"no-cors urlencoded", []string{"Content-Type", "application/x-www-form-urlencoded", "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"}, 403, "cross-site request forgery"},
		{"JSON from another site", []string{"Content-Type", "application/json", "Origin", "http://evil.example"}, 403, "cross-site request forgery"},
		{"another port of this host", []string{"Content-Type", "application/json", "Origin", "http://127.0.0.1:3000"}, 403, "cross-site request forgery"},
		{"another name of this host", []string{"Content-Type", "application/json", "Origin", "http://localhost:8080"}, 403, "cross-site request forgery"},
		{"an opaque origin", []string{"Content-Type", "application/json", "Origin", "null"}, 403, "cross-site request forgery"},
		{"same-site", []string{"Content-Type", "application/json", "Sec-Fetch-Site", "same-site"}, 403, "cross-site request forgery"},
		{"cross-site", []string{"Content-Type", "application/json", "Sec-Fetch-Site", "cross-site"}, 403, "cross-site request forgery"},
		{"text/plain without Origin", []string{"Content-Type", "text/plain"}, 415, "application/x-ndjson"},
		{"urlencoded (curl's default)", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "application/x-ndjson"},
		{"multipart", []string{"Content-Type", "multipart/form-data; boundary=x"}, 415, "application/x-ndjson"},
		{"no Content-Type", nil, 415, "application/x-ndjson"},
		{"a bad Content-Type", []string{"Content-Type", "application/json; ="}, 415, "application/x-ndjson"},
	} {
		if a := guardSend(t, h, "POST", host, "/api/ingest", line, tc.hdr...); !guardRefused(a, tc.code, tc.want) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, a.code, a.body, tc.code, tc.want)
		}
	}
	if a := guardSend(t, h, "POST", host, "/api/ingest", line, "Content-Type", "text/plain"); a.hdr.Get("Accept-Post") == "" {
		t.Errorf("a 415 without Accept-Post: %v", a.hdr)
	}
	if n := guardRows(t, h); n != 1 {
		t.Fatalf("refused ingests stored rows: %d, want 1", n)
	}
	for _, tc := range []struct {
		name string
		hdr  []string
	}{
		{"application/json", []string{"Content-Type", "application/json"}},
		{"with a charset", []string{"Content-Type", "Application/JSON; charset=utf-8"}},
		{"application/x-ndjson", []string{"Content-Type", ndjson}},
		{"application/jsonl", []string{"Content-Type", "application/jsonl"}},
		{"its own origin", []string{"Content-Type", ndjson, "Origin", self}},
		{"same-origin", []string{"Content-Type", ndjson, "Origin", self, "Sec-Fetch-Site", "same-origin"}},
		{"typed by the user", []string{"Content-Type", ndjson, "Sec-Fetch-Site", "none"}},
	} {
		if a := guardSend(t, h, "POST", host, "/api/ingest", line, tc.hdr...); a.code != 200 {
			t.Errorf("%s: %d %s, want 200", tc.name, a.code, a.body)
		}
	}
	if n := guardRows(t, h); n != 8 {
		t.Fatalf("accepted ingests: %d rows, want 8", n)
	}

	for _, hdr := range [][]string{{"Origin", "http://evil.example"}, {"Sec-Fetch-Site", "cross-site"}, {"Origin", "null"}} {
		if a := guardSend(t, h, "DELETE", host, "/api/records?pattern=*", "", hdr...); !guardRefused(a, 403, "cross-site request forgery") {
			t.Errorf("delete with %v: %d %s", hdr, a.code, a.body)
		}
	}
	if n := guardRows(t, h); n != 8 {
		t.Fatalf("refused deletes removed rows: %d left, want 8", n)
	}
	if a := guardSend(t, h, "DELETE", host, "/api/records?pattern=csrf.form", "", "Origin", self); a.code != 200 ||
		strings.TrimSpace(string(a.body)) != `{"deleted":7}` {
		t.Errorf("delete from its own origin: %d %s", a.code, a.body)
	}

	// Reads from another origin are answered: the browser keeps the answer
	// from the page (no CORS headers), and the Host is this server's.
	if a := guardSend(t, h, "GET", host, "/api/records", "", "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"); a.code != 200 ||
		a.hdr.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("a cross-origin read: %d %v", a.code, a.hdr)
	}
}

// A read-only handler refuses every write as read-only, whatever it sends.
func TestGuardReadOnly(t *testing.T) {
	t.Parallel()
	h := NewHandler(openDB(t))
	if a := guardSend(t, h, "POST", "127.0.0.1", "/api/ingest", `{"name":"a","value":1}`, "Content-Type", "text/plain"); !guardRefused(a, 403, "read-only") {
		t.Errorf("read-only ingest: %d %s", a.code, a.body)
	}
}

// Allowed hosts: names (any port), host:port (that port), IP addresses;
// an Origin with an allowed name may write (a proxy that passes on the
// upstream's Host). With a token and allowed hosts, the Host is checked.
func TestGuardAllowedHosts(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	h := NewHandler(db, Writable(), WithAllowedHosts("History.Example", "other.example:8443", "10.0.0.5", "[2001:db8::1]:80"))
	for host, want := range map[string]int{
		"history.example": 200, "HISTORY.example:1234": 200, "other.example:8443": 200, "10.0.0.5:8080": 200,
		"[2001:db8:0::1]:80": 200, "localhost:8080": 200,
		"other.example": 403, "other.example:9": 403, "evil.example": 403, "sub.history.example": 403,
		"[2001:db8::1]:81": 403, "10.0.0.6": 403,
	} {
		if a := guardSend(t, h, "GET", host, "/api/records", ""); a.code != want {
			t.Errorf("GET as %s: %d %s, want %d", host, a.code, a.body, want)
		}
	}
	line := `{"name":"a","value":1}`
	if a := guardSend(t, h, "POST", "127.0.0.1:8080", "/api/ingest", line, "Content-Type", ndjson, "Origin", "https://history.example"); a.code != 200 {
		t.Errorf("a write from an allowed origin through a proxy: %d %s", a.code, a.body)
	}
	for _, origin := range []string{"https://evil.example", "https://other.example", "ftp://history.example", "https://history.example.evil.example"} {
		if a := guardSend(t, h, "POST", "127.0.0.1:8080", "/api/ingest", line, "Content-Type", ndjson, "Origin", origin); a.code != 403 {
			t.Errorf("a write from %s: %d %s", origin, a.code, a.body)
		}
	}

	tok := NewHandler(db, WithToken("s3cret"), WithAllowedHosts("history.example"))
	for host, want := range map[string]int{"history.example": 200, "localhost": 200, "evil.example": 403} {
		if a := guardSend(t, tok, "GET", host, "/api/records", "", "Authorization", "Bearer s3cret"); a.code != want {
			t.Errorf("token and allowed hosts, as %s: %d %s, want %d", host, a.code, a.body, want)
		}
	}
}

func TestValidateAllowedHost(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"example.com", "Example.COM:8080", "localhost", "my_host", "10.0.0.1", "10.0.0.1:80",
		"[2001:db8::1]", "[2001:db8::1]:443", "2001:db8::1", "xn--bcher-kva.example"} {
		if err := ValidateAllowedHost(name); err != nil {
			t.Errorf("%q: %v", name, err)
		}
	}
	for _, name := range []string{"", "*", "*.example.com", "http://example.com", "example.com/x", "user@example.com",
		"example.com:0", "example.com:65536", "example.com:http", "example.com:", "a b", ".example.com",
		"example..com", "-example.com", "example-.com", "exämple.com", "[2001:db8::1", "[example.com]:80",
		"1.2.3", strings.Repeat("a", 64) + ".com"} {
		err := ValidateAllowedHost(name)
		if !errors.Is(err, rechist.ErrInvalidArgument) {
			t.Errorf("%q: %v, want ErrInvalidArgument", name, err)
		}
	}
	defer func() {
		if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), `"*"`) {
			t.Errorf("WithAllowedHosts(\"*\") panicked with %v", p)
		}
	}()
	WithAllowedHosts("*")
}
