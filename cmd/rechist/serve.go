package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/rechisthttp"
)

type serveCmd struct {
	Addr     string `default:"127.0.0.1:8080" placeholder:"HOST:PORT" help:"Address to listen on (default: ${default}). Any address but a loopback one needs --token."`
	Token    string `env:"RECHIST_TOKEN" placeholder:"TOKEN" help:"Require this token on every /api/ and /metrics request (Authorization: Bearer TOKEN, or ?token=). Also set by ${env}, which keeps it off the command line."`
	Writable bool   `help:"Open the database for writing and allow POST /api/ingest, DELETE /api/records and sync pushes (POST /api/sync: rechist sync --to http://this-server/). Without it the server only reads: it never creates or changes a file."`
	// AllowedHost is repeated, never split: one name a flag.
	AllowedHost  []string      `name:"allowed-host" sep:"none" placeholder:"NAME" help:"Also answer requests whose Host is NAME (a host name or address, optionally :port; repeatable), as behind a reverse proxy. Without a token only loopback names are answered, against DNS rebinding."`
	QueryTimeout time.Duration `default:"1m" placeholder:"DURATION" help:"Bound each request's database work (default: ${default}); time spent waiting for a slow client does not count."`
	WriteTimeout time.Duration `default:"10s" placeholder:"DURATION" help:"Cut a client whose reading keeps one write of an answer blocked this long (default: ${default}); a slow but steady reader is served."`
	MaxQueries   int           `default:"0" placeholder:"N" help:"Run at most N queries, aggregates and exports at once; others wait up to the query timeout, then get 503 (default 0: twice the CPUs)."`
	// MetricsRecords bounds the labelled data series of /metrics.
	MetricsRecords int `name:"metrics-records" default:"10" placeholder:"N" help:"Give /metrics a newest-row time and row count for the N records with the most rows, and sync series for the N sources that sent the most (default: ${default}; 0: none). Totals cover every record and source."`
	MaxSamples     int `name:"max-samples" default:"5000000" placeholder:"N" help:"Refuse a PromQL query of /api/v1/ that would read more than N samples (each number of a row is one) with Prometheus's cost-limit error, rather than hold them all in memory (default: ${default})."`
	topicFlag      `embed:""`

	// AIMX is a second listener for AimX 3.0 over a socket (aimx.go).
	AIMX string `name:"aimx" placeholder:"ADDR" help:"Also serve AimX 3.0, AimDB's own protocol, on ADDR: unix:/path/to.sock (created mode 0600) or HOST:PORT (TCP; any address but a loopback one needs --token, which hello must then carry as auth_token). The WebSocket at /aimx?v=3.0 is always served. See docs/aimx.md."`
}

func (c *serveCmd) Help() string {
	return `Serves the database over HTTP: the dashboard at /, the JSON API under
/api/ (query, records, aggregate, export, stream), a Prometheus-compatible
query API under /api/v1/ (PromQL; Grafana's Prometheus data source, and
remote read for a Prometheus server), AimX 3.0, AimDB's own protocol, on
the WebSocket /aimx?v=3.0 (with --aimx also on a Unix socket or TCP; see
docs/aimx.md), an MCP server for assistants at /mcp (streamable HTTP; the
tools of rechist mcp, docs/mcp.md), /metrics for Prometheus (with what the database holds:
rows, file sizes, the newest row of the --metrics-records records with
the most rows, sync sources) and /healthz.
Without a token it answers only to loopback Host names
(localhost, 127.0.0.1, [::1]) and --allowed-host ones; with --writable,
writes must be typed as JSON (Content-Type: application/x-ndjson) and
come from no other origin. See docs/serve.md.

Example:
  rechist demo && rechist serve        # then open http://127.0.0.1:8080
  RECHIST_TOKEN=secret rechist serve --addr :8080 --writable
  rechist serve --aimx unix:/run/rechist/aimx.sock`
}

// shutdownGrace is how long requests in flight get to finish after
// SIGINT or SIGTERM.
const shutdownGrace = 10 * time.Second

func (c *serveCmd) Run(e *env) error {
	if err := checkAddr(c.Addr); err != nil {
		return err
	}
	if c.Token == "" && !loopback(c.Addr) {
		return usagef("--addr %s is reachable from other machines: give a --token (or RECHIST_TOKEN), or listen on 127.0.0.1", c.Addr)
	}
	if err := c.checkAIMX(); err != nil {
		return err
	}
	switch {
	case c.QueryTimeout <= 0:
		return usagef("--query-timeout must be positive, got %v", c.QueryTimeout)
	case c.WriteTimeout <= 0:
		return usagef("--write-timeout must be positive, got %v", c.WriteTimeout)
	case c.MaxQueries < 0:
		return usagef("--max-queries must not be negative, got %d", c.MaxQueries)
	case c.MetricsRecords < 0:
		return usagef("--metrics-records must not be negative, got %d", c.MetricsRecords)
	case c.MaxSamples <= 0:
		return usagef("--max-samples must be positive, got %d", c.MaxSamples)
	}
	for _, name := range c.AllowedHost {
		if err := rechisthttp.ValidateAllowedHost(name); err != nil {
			return usagef("--allowed-host: %v", err)
		}
	}
	opts := c.options()
	var db *rechist.DB
	var err error
	if c.Writable {
		db, err = e.open(opts...)
	} else {
		db, err = e.openRead(opts...)
	}
	if err != nil {
		return err
	}
	defer db.Close()

	var hopts []rechisthttp.Option
	hopts = append(hopts, rechisthttp.WithToken(c.Token),
		rechisthttp.WithLogger(slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
		rechisthttp.WithQueryTimeout(c.QueryTimeout), rechisthttp.WithWriteTimeout(c.WriteTimeout),
		rechisthttp.WithMaxConcurrentQueries(c.MaxQueries), rechisthttp.WithMetricsRecords(c.MetricsRecords),
		rechisthttp.WithMaxSamples(c.MaxSamples))
	if c.Writable {
		hopts = append(hopts, rechisthttp.Writable())
	}
	if c.Topics {
		hopts = append(hopts, rechisthttp.TopicPatterns())
	}
	if len(c.AllowedHost) > 0 {
		hopts = append(hopts, rechisthttp.WithAllowedHosts(c.AllowedHost...))
	}
	h := rechisthttp.NewHandler(db, hopts...)

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute, // headers and body; the body is also size-limited
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// No WriteTimeout: the stream and large exports run as long as
		// their client reads. The handler sets a deadline on each write
		// instead (a client that stops reading is cut after 10 s), and
		// bounds each request's database work.
	}
	srv.RegisterOnShutdown(h.CloseStreams)
	mode := "read-only"
	if c.Writable {
		mode = "writable"
	}
	fmt.Fprintf(e.stdout, "serving %s (%s) on %s\n", db.Path(), mode, listenURL(c.Addr, ln.Addr()))
	aimxDone, stopAIMX, err := c.serveAIMX(e, h)
	if err != nil {
		ln.Close()
		return err
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err = <-served:
		if aerr := stopAIMX(); err == nil || errors.Is(err, http.ErrServerClosed) {
			err = aerr
		}
	case <-aimxDone: // the AimX listener failed: stop serving
		err = stopAIMX()
		srv.Close()
		<-served
	case <-e.ctx.Done():
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		err = srv.Shutdown(ctx)
		cancel()
		if err != nil {
			srv.Close()
		}
		<-served
		if aerr := stopAIMX(); err == nil {
			err = aerr
		}
		fmt.Fprintln(e.stdout, "stopped serving")
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil && e.ctx.Err() != nil {
		// A signal is the way to stop a server: not a failure.
		return nil
	}
	return err
}

// loopback says whether addr listens on a loopback address only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkAddr refuses an --addr net.Listen would refuse, as bad usage.
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("--addr %q: %v (want HOST:PORT, such as 127.0.0.1:8080 or :8080)", addr, err)
	}
	if _, err := net.LookupPort("tcp", port); err != nil { // a number up to 65535, or a service name ("http")
		return usagef("--addr %q: port %q is not a number from 0 to 65535", addr, port)
	}
	return nil
}

// listenURL is the URL to print for a server listening on got (net.Listen
// of addr): for a host left empty or unspecified (0.0.0.0, ::), which
// Go reports as [::], the address as typed with a loopback URL to open.
func listenURL(addr string, got net.Addr) string {
	host, _, _ := net.SplitHostPort(addr)
	_, port, err := net.SplitHostPort(got.String())
	if err != nil {
		return "http://" + got.String() + "/"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		shown := host
		if shown == "" {
			shown = "every interface"
		}
		return fmt.Sprintf("http://127.0.0.1:%s/ (listening on %s, port %s)", port, shown, port)
	}
	return "http://" + got.String() + "/"
}

// checkAIMX refuses an --aimx address net.Listen would refuse, and a TCP
// one reachable from other machines without a token, as bad usage.
func (c *serveCmd) checkAIMX() error {
	if c.AIMX == "" {
		return nil
	}
	network, addr := aimxAddr(c.AIMX)
	if network == "unix" {
		if addr == "" {
			return usagef("--aimx %q: give the socket's path, as unix:/run/rechist/aimx.sock", c.AIMX)
		}
		return nil
	}
	if _, port, err := net.SplitHostPort(addr); err != nil {
		return usagef("--aimx %q: %v (want unix:/path/to.sock or HOST:PORT, such as 127.0.0.1:8765)", c.AIMX, err)
	} else if _, err := net.LookupPort("tcp", port); err != nil {
		return usagef("--aimx %q: port %q is not a number from 0 to 65535", c.AIMX, port)
	}
	if c.Token == "" && !loopback(addr) {
		return usagef("--aimx %s is reachable from other machines: give a --token (or RECHIST_TOKEN), which hello must carry as auth_token, or listen on 127.0.0.1 or a Unix socket", c.AIMX)
	}
	return nil
}

// aimxAddr splits an --aimx address into net.Listen's network and address.
func aimxAddr(s string) (network, addr string) {
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		return "unix", path
	}
	return "tcp", s
}

// serveAIMX starts the --aimx listener, if any: done is closed when it
// ends (nil without --aimx), stop ends it and returns why it ended (nil
// after stop).
func (c *serveCmd) serveAIMX(e *env, h *rechisthttp.Handler) (done <-chan struct{}, stop func() error, err error) {
	if c.AIMX == "" {
		return nil, func() error { return nil }, nil
	}
	network, addr := aimxAddr(c.AIMX)
	var ln net.Listener
	shown := ""
	if network == "unix" {
		if err := removeStaleSocket(addr); err != nil {
			return nil, nil, err
		}
		if ln, err = listenPrivateUnix(addr); err != nil {
			return nil, nil, err
		}
		shown = "unix:" + addr
	} else {
		if ln, err = net.Listen(network, addr); err != nil {
			return nil, nil, err
		}
		shown = "tcp " + ln.Addr().String()
	}
	fmt.Fprintf(e.stdout, "serving AimX 3.0 on %s\n", shown)
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan struct{})
	var serr error
	go func() {
		serr = h.ServeAIMX(ctx, ln)
		close(ended)
	}()
	return ended, func() error {
		cancel()
		<-ended
		ln.Close() // done already by ServeAIMX, but on another goroutine: wait for it
		if serr != nil {
			return fmt.Errorf("aimx: %w", serr)
		}
		return nil
	}, nil
}

// listenPrivateUnix listens on a Unix socket at path that only the owner
// may connect to, as upstream's AimxConfig defaults socket_permissions to
// 0o600 (a token, if given, is checked too). The socket is never
// connectable with other modes: it is bound in a fresh private directory
// (mode 0700) next to path, made 0600 there, then linked to path (which
// fails if path exists, so another server's socket is never replaced)
// and the private directory removed. Closing the listener removes path.
func listenPrivateUnix(path string) (net.Listener, error) {
	dir, err := os.MkdirTemp(filepath.Dir(path), ".rechist-aimx-") // mode 0700
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "s")
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, err
	}
	ul.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		ul.Close()
		return nil, err
	}
	if err := os.Link(tmp, path); err != nil {
		ul.Close()
		return nil, fmt.Errorf("--aimx %s: %w", path, err)
	}
	return &unlinkingListener{Listener: ul, path: path}, nil
}

// unlinkingListener removes its socket file once, when closed.
type unlinkingListener struct {
	net.Listener
	path string
	once sync.Once
}

func (l *unlinkingListener) Close() error {
	// The name goes first: whoever sees Accept fail (ServeAIMX, then
	// serve, which may exit at once) sees it gone.
	l.once.Do(func() { _ = os.Remove(l.path) })
	return l.Listener.Close()
}

// removeStaleSocket removes a socket file no server listens on any more
// (one a killed server left): only one of ours (owned by this user) that
// refuses connections (ECONNREFUSED). A file that is not a socket, one
// of another user, one a server still answers on, or one whose dial
// failed otherwise (a timeout, no permission) is an error: it is left as
// it is.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("--aimx %s: the file exists and is not a socket", path)
	}
	if uid, ok := fileOwner(fi); !ok || uid != os.Getuid() {
		return fmt.Errorf("--aimx %s: the socket exists and is not this user's; remove it or choose another path", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("--aimx %s: another server is listening on it", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("--aimx %s: the socket exists and may be in use (%w); remove it if no server listens on it", path, err)
	}
	return os.Remove(path)
}
