package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// startServeAIMX runs `rechist serve --aimx ADDR` and returns its HTTP
// base URL and the network and address of its AimX listener, as printed;
// the process gets SIGINT at the end of the test, which must end it with
// status 0 and remove a Unix socket.
func startServeAIMX(t *testing.T, dir string, env []string, aimx string, args ...string) (base, network, addr string) {
	t.Helper()
	cmd := command(dir, env, append([]string{"serve", "--addr", "127.0.0.1:0", "--aimx", aimx}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A serve that neither prints nor ends is killed after a minute.
	var killed atomic.Bool
	kill := time.AfterFunc(time.Minute, func() { killed.Store(true); cmd.Process.Kill() })
	lines := bufio.NewScanner(out)
	var got []string
	for len(got) < 2 && lines.Scan() {
		got = append(got, lines.Text())
	}
	if len(got) < 2 {
		cmd.Wait()
		t.Fatalf("serve printed %q (killed after a minute: %v); stderr:\n%s", got, killed.Load(), stderr.String())
	}
	kill.Stop()
	m := regexp.MustCompile(`on (http://\S+)/$`).FindStringSubmatch(got[0])
	a := regexp.MustCompile(`^serving AimX 3\.0 on (unix:(\S+)|tcp (\S+))$`).FindStringSubmatch(got[1])
	if m == nil || a == nil {
		t.Fatalf("serve's first lines: %q", got)
	}
	network, addr = "tcp", a[3]
	if a[2] != "" {
		network, addr = "unix", a[2]
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		// A serve still running 30 s after SIGINT is killed, and fails.
		var killed atomic.Bool
		kill := time.AfterFunc(30*time.Second, func() { killed.Store(true); cmd.Process.Kill() })
		defer kill.Stop()
		rest, _ := io.ReadAll(out)
		if err := cmd.Wait(); err != nil || killed.Load() {
			t.Errorf("serve after SIGINT: %v (killed 30 s after SIGINT: %v)\nstderr:\n%s", err, killed.Load(), stderr.String())
		}
		if !strings.Contains(string(rest), "stopped serving") {
			t.Errorf("serve's last words: %q", rest)
		}
		if network == "unix" {
			if _, err := os.Lstat(addr); err == nil {
				t.Errorf("the socket %s is still there after serve ended", addr)
			}
		}
	})
	return m[1], network, addr
}

// aimxLine is one NDJSON AimX connection.
type aimxLine struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialAIMXLine(t *testing.T, network, addr string) *aimxLine {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &aimxLine{t, c, bufio.NewReader(c)}
}

// exchange sends frame and returns the next frame, within 30 s.
func (a *aimxLine) exchange(frame string) string {
	a.t.Helper()
	if frame != "" {
		if _, err := a.c.Write([]byte(frame + "\n")); err != nil {
			a.t.Fatal(err)
		}
	}
	a.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := a.r.ReadString('\n')
	if err != nil {
		a.t.Fatalf("after %s: %v", frame, err)
	}
	return strings.TrimSuffix(line, "\n")
}

// A Unix socket: created mode 0600, NDJSON frames, the version in hello,
// record.list and record.query on the demo file, and a subscription that
// sees what `rechist ingest` stores from another process.
func TestServeAIMXUnixSocket(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, "", "demo", "--days", "1", "--cities", "2", "--interval", "1h")
	sock := filepath.Join(dir, "aimx.sock")
	base, network, addr := startServeAIMX(t, dir, nil, "unix:"+sock)
	if network != "unix" || addr != sock {
		t.Fatalf("serve listens on %s %s, want unix %s", network, addr, sock)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the socket: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	a := dialAIMXLine(t, network, addr)
	if got := a.exchange(`{"t":"req","id":1,"method":"hello","params":{"client":"test","version":"2.0"}}`); got != `{"t":"reply","id":1,"err":"version_mismatch"}` {
		t.Errorf("a legacy hello: %s", got)
	}
	if got := a.exchange(`{"t":"req","id":2,"method":"hello","params":{"client":"test","version":"3.0"}}`); !strings.HasPrefix(got, `{"t":"reply","id":2,"ok":{"version":"3.0","server":"rechist","permissions":["read"]`) {
		t.Errorf("hello: %s", got)
	}
	if got := a.exchange(`{"t":"req","id":3,"method":"record.list"}`); !strings.Contains(got, `"record_key":"temperature::vienna"`) || !strings.Contains(got, `"last_ts":`) {
		t.Errorf("record.list: %s", got)
	}
	if got := a.exchange(`{"t":"req","id":4,"method":"record.query","params":{"name":"temperature::vienna","limit":3}}`); !strings.HasPrefix(got, `{"t":"reply","id":4,"ok":{"records":[{"topic":"temperature::vienna",`) || !strings.HasSuffix(got, `"total":3}}`) {
		t.Errorf("record.query, 3 rows of one record: %s", got)
	}
	// A subscription: no acknowledgement on a socket, as upstream's; the
	// pong says it is open.
	if _, err := a.c.Write([]byte(`{"t":"sub","id":5,"topic":"sensor.#"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	if got := a.exchange(`{"t":"ping"}`); got != `{"t":"pong"}` {
		t.Fatalf("ping: %s", got)
	}
	ok(t, dir, `{"name":"other.x","value":0}`+"\n"+`{"name":"sensor.door","value":{"open":true},"at":1800000000000}`+"\n", "ingest")
	if got := a.exchange(""); got != `{"t":"event","seq":1,"topic":"sensor.door","sub":"5","data":{"open":true}}` {
		t.Errorf("the event of a row another process stored: %s", got)
	}
	// The WebSocket is on the HTTP address, behind the version gate.
	if code, body := get(t, base+"/aimx"); code != http.StatusUpgradeRequired || !strings.Contains(body, "3.0") {
		t.Errorf("/aimx without ?v=3.0: %d %s", code, body)
	}
}

// TCP with a token: hello must carry it as auth_token.
func TestServeAIMXTCPToken(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, "", "demo", "--days", "1", "--cities", "1", "--interval", "1h")
	_, network, addr := startServeAIMX(t, dir, []string{"RECHIST_TOKEN=tok"}, "127.0.0.1:0")
	if network != "tcp" {
		t.Fatalf("serve listens on %s %s", network, addr)
	}
	a := dialAIMXLine(t, network, addr)
	for _, st := range []struct{ in, want string }{
		{`{"t":"req","id":1,"method":"record.list"}`, `{"t":"reply","id":1,"err":"denied"}`},
		{`{"t":"req","id":2,"method":"hello","params":{"version":"3.0"}}`, `{"t":"reply","id":2,"err":"denied"}`},
	} {
		if got := a.exchange(st.in); !strings.HasSuffix(got, st.want) {
			t.Errorf("%s: %s, want it to end in %s", st.in, got, st.want)
		}
	}
	// A hello without the token ended the connection: one guess each.
	a.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if line, err := a.r.ReadString('\n'); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("after a hello without the token: %q, %v; want the connection closed", line, err)
	}
	a = dialAIMXLine(t, network, addr)
	for _, st := range []struct{ in, want string }{
		{`{"t":"req","id":3,"method":"hello","params":{"version":"3.0","auth_token":"tok"}}`, `"authenticated":true}}`},
		{`{"t":"req","id":4,"method":"record.query","params":{"limit":1}}`, `"total":2}}`}, // accuracy and temperature,
	} {
		if got := a.exchange(st.in); !strings.HasSuffix(got, st.want) {
			t.Errorf("%s: %s, want it to end in %s", st.in, got, st.want)
		}
	}
}

func TestServeAIMXRefuses(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, "", "demo", "--days", "1", "--cities", "1", "--interval", "1h")
	for _, c := range []struct {
		aimx string
		code int
		says string
	}{
		{"0.0.0.0:0", 2, "--token"},
		{"unix:", 2, "socket's path"},
		{"nonsense", 2, "--aimx"},
		{"127.0.0.1:99999", 2, "--aimx"},
		{"unix:" + filepath.Join(dir, "data", "history.db"), 1, "not a socket"},
	} {
		if r := runCLI(t, dir, "", "serve", "--addr", "127.0.0.1:0", "--aimx", c.aimx); r.code != c.code || !strings.Contains(r.stderr, c.says) {
			t.Errorf("--aimx %s: exit %d, %s; want %d saying %q", c.aimx, r.code, r.stderr, c.code, c.says)
		}
	}
	// A socket a killed server left behind is taken over.
	sock := filepath.Join(dir, "stale.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	_, network, addr := startServeAIMX(t, dir, nil, "unix:"+sock)
	a := dialAIMXLine(t, network, addr)
	if got := a.exchange(`{"t":"ping"}`); got != `{"t":"pong"}` {
		t.Errorf("ping over the socket taken over: %s", got)
	}
	// ... but not one a server still listens on.
	cmd := command(dir, nil, "serve", "--addr", "127.0.0.1:0", "--aimx", "unix:"+sock)
	kill := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() }) // a serve that does not refuse
	outb, _ := cmd.CombinedOutput()
	kill.Stop()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(outb), "another server is listening") {
		t.Errorf("a second serve on the same socket: exit %d, %s", cmd.ProcessState.ExitCode(), outb)
	}
	// ... nor a dead one of another user: it is left in place.
	if os.Getuid() == 0 {
		theirs := filepath.Join(dir, "theirs.sock")
		ln, err := net.Listen("unix", theirs)
		if err != nil {
			t.Fatal(err)
		}
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		ln.Close()
		if err := os.Lchown(theirs, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		cmd := command(dir, nil, "serve", "--addr", "127.0.0.1:0", "--aimx", "unix:"+theirs)
		kill := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() }) // a serve that does not refuse
		outb, _ := cmd.CombinedOutput()
		kill.Stop()
		if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(outb), "not this user's") {
			t.Errorf("serve on another user's socket: exit %d, %s", cmd.ProcessState.ExitCode(), outb)
		}
		if _, err := os.Lstat(theirs); err != nil {
			t.Errorf("another user's socket was removed: %v", err)
		}
	}
}
