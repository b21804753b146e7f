package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// startServe runs `rechist serve` on a free loopback port and returns its
// base URL; the process gets SIGINT at the end of the test, which must
// end it with status 0.
func startServe(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := command(dir, env, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	if !lines.Scan() {
		cmd.Wait()
		t.Fatalf("serve printed nothing; stderr:\n%s", stderr.String())
	}
	m := regexp.MustCompile(`on (http://\S+)/$`).FindStringSubmatch(lines.Text())
	if m == nil {
		t.Fatalf("serve's first line: %q", lines.Text())
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		rest, _ := io.ReadAll(out)
		if err := cmd.Wait(); err != nil {
			t.Errorf("serve after SIGINT: %v\nstderr:\n%s", err, stderr.String())
		}
		if !strings.Contains(string(rest), "stopped serving") {
			t.Errorf("serve's last words: %q", rest)
		}
	})
	return m[1]
}

// get is a GET of url with the headers hdr (pairs): its status and body.
func get(t *testing.T, url string, hdr ...string) (int, string) {
	t.Helper()
	return guardSend(t, "GET", url, "", "", hdr...)
}

func TestServeReadOnly(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, "", "demo", "--days", "1", "--cities", "2", "--interval", "1h")
	db := filepath.Join(dir, "data", "history.db")
	before, _ := os.ReadFile(db)
	url := startServe(t, dir, nil)
	if code, body := get(t, url+"/api/query?pattern=temperature::*"); code != 200 || !strings.Contains(body, `"total":2`) {
		t.Errorf("/api/query: %d %s", code, body)
	}
	if code, _ := get(t, url+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "POST", url+"/api/ingest", strings.NewReader(`{"name":"x","value":1}`))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Errorf("ingest without --writable: %d", res.StatusCode)
	}
	if after, _ := os.ReadFile(db); string(after) != string(before) {
		t.Error("serving read-only changed the file")
	}
}

func TestServeTokenAndWritable(t *testing.T) {
	dir := t.TempDir()
	url := startServe(t, dir, []string{"RECHIST_TOKEN=tok"}, "--writable")
	if code, _ := get(t, url+"/api/query"); code != 401 {
		t.Errorf("without the token: %d", code)
	}
	if code, body := get(t, url+"/api/query", "Authorization", "Bearer tok"); code != 200 {
		t.Errorf("with the token: %d %s", code, body)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "history.db")); err != nil {
		t.Errorf("--writable did not create the database: %v", err)
	}
}

func TestServeRefuses(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, dir, "", "serve", "--addr", "0.0.0.0:0")
	if r.code != 2 || !strings.Contains(r.stderr, "--token") {
		t.Errorf("a public address without a token: exit %d, %s", r.code, r.stderr)
	}
	r = runCLI(t, dir, "", "serve", "--addr", "127.0.0.1:0")
	if r.code != 1 || !strings.Contains(r.stderr, "history.db") {
		t.Errorf("serving a missing file: exit %d, %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("serving read-only created the database's folder")
	}
	for _, addr := range []string{"127.0.0.1:99999", "127.0.0.1", "nonsense"} { // was exit 1, from net.Listen
		if r := runCLI(t, dir, "", "serve", "--addr", addr); r.code != 2 || !strings.Contains(r.stderr, "--addr") {
			t.Errorf("serve --addr %s: exit %d, %s; want 2 naming --addr", addr, r.code, r.stderr)
		}
	}
	for addr, want := range map[string]bool{"127.0.0.1:1": true, "localhost:1": true, "[::1]:1": true,
		":8080": false, "0.0.0.0:1": false, "192.0.2.1:1": false, "example.com:1": false} {
		if loopback(addr) != want {
			t.Errorf("loopback(%q) = %v", addr, !want)
		}
	}
}

// The HTTP limits are the operator's to set: bad values are usage errors
// (exit 2) before anything opens, and the limit shows in /metrics beside
// the heavy requests running now.
func TestServeLimits(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"--query-timeout", "0s"}, {"--write-timeout", "-1s"}, {"--max-queries", "-1"}} {
		r := runCLI(t, dir, "", append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, args[0]) {
			t.Errorf("serve %s: exit %d, %s; want 2 naming the flag", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	if r := runCLI(t, dir, "", "ingest"); r.code != 0 {
		t.Fatalf("ingest of nothing: exit %d, %s", r.code, r.stderr)
	}
	url := startServe(t, dir, nil, "--max-queries", "3", "--query-timeout", "5s", "--write-timeout", "2s")
	code, body := get(t, url+"/metrics")
	if code != 200 || !strings.Contains(body, `rechist_http_heavy_requests{limit="3"} 0`) {
		t.Fatalf("/metrics: %d, no rechist_http_heavy_requests{limit=\"3\"} 0 in:\n%.2000s", code, body)
	}
}

// The URL serve prints opens in a browser on the same machine: for an
// unspecified host (which Go reports as [::]) a loopback URL, with what it
// listens on.
func TestListenURL(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:8082":   "http://127.0.0.1:8082/ (listening on 0.0.0.0, port 8082)",
		":8082":          "http://127.0.0.1:8082/ (listening on every interface, port 8082)",
		"[::]:8082":      "http://127.0.0.1:8082/ (listening on ::, port 8082)",
		"127.0.0.1:8082": "http://[::]:8082/", // as net.Listen reported it
	} {
		if got := listenURL(addr, &net.TCPAddr{IP: net.IPv6unspecified, Port: 8082}); got != want {
			t.Errorf("listenURL(%q) = %q, want %q", addr, got, want)
		}
	}
}
