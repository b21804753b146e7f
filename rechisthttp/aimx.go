package rechisthttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// AimX 3.0 is the protocol every AimDB client speaks (the CLI, the browser
// client, the MCP server) since aimdb-dev/aimdb commit 0348e9f (design 047,
// docs/design/047-retire-ws-protocol-converge-on-aimx.md). The handler
// serves it on the WebSocket at /aimx, and [Handler.ServeAIMX] on a Unix
// socket or TCP listener; see docs/aimx.md. Upstream sources followed, all
// at commit
// 0348e9f85b1188b32a2d040c35544fa39dcec2d5:
//
//   - aimdb-core/src/session/aimx/codec.rs: the frames (aimx_frame.go);
//   - aimdb-core/src/session/aimx/dispatch.rs: hello, record.get,
//     record.set, record.query, unknown methods (aimx_session.go);
//   - aimdb-core/src/session/server.rs: one frame at a time, malformed
//     frames skipped, subscribe's acknowledgement, snapshots and seq;
//   - aimdb-websocket-connector/src/server/http.rs and dispatch.rs: the
//     ?v=3.0 gate with 426, the token at the upgrade, the acknowledgement
//     and snapshots of the WebSocket;
//   - aimdb-core/src/session/topic_match.rs: topic patterns (aimx_topic.go);
//   - aimdb-persistence/src/builder_ext.rs: record.query's defaults and
//     result (aimx_query.go).

// serveAIMX upgrades GET /aimx?v=3.0 to a WebSocket carrying AimX frames,
// one a text message. In upstream's order (http.rs): a missing or
// incompatible version is 426, then the token (as on /api/: "Authorization:
// Bearer TOKEN", or ?token=TOKEN, which a browser's WebSocket can send)
// 401. Before both, the handler's guard checks the Host, and a request
// from another origin is 403: a page of any site may open a WebSocket to
// this machine and read what it answers, so unlike /api/ reads, /aimx
// takes only the handler's own origin, the allowed hosts' and requests
// without an Origin (programs).
func (h *Handler) serveAIMX(w http.ResponseWriter, r *http.Request) {
	if !h.ownSite(r) {
		writeError(w, http.StatusForbidden, fmt.Sprintf("a WebSocket from another origin (Origin %q) is refused: "+
			"connect from this server's own page, from a program (no Origin), or allow the origin's name "+
			"(rechist serve --allowed-host NAME)", r.Header.Get("Origin")))
		return
	}
	if v := r.URL.Query().Get("v"); !versionCompatible(v) {
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUpgradeRequired)
		fmt.Fprintf(w, "incompatible AimX protocol version (server speaks %s)", aimxVersion)
		return
	}
	h.auth(http.HandlerFunc(h.acceptAIMX)).ServeHTTP(w, r)
}

// acceptAIMX completes the upgrade and serves the connection.
func (h *Handler) acceptAIMX(w http.ResponseWriter, r *http.Request) {
	h.streams.mu.Lock()
	closed := h.streams.closed
	h.streams.mu.Unlock()
	if closed {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "the server is shutting down")
		return
	}
	if h.aimx.wsSessions.Add(1) > aimxMaxConns {
		h.aimx.wsSessions.Add(-1)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("too many AimX sessions (at most %d at once)", aimxMaxConns))
		return
	}
	defer h.aimx.wsSessions.Add(-1)
	// The origin was checked above, with the allowed hosts, which
	// websocket's own same-host check does not know.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept answered the client
	}
	c.SetReadLimit(h.cfg.maxBodyBytes)
	h.runAIMX(context.WithoutCancel(r.Context()), &wsConn{c: c}, true, true)
}

// aimxMaxConns is how many socket connections [Handler.ServeAIMX] serves
// at once (more wait in the listener's backlog), and how many WebSocket
// sessions the handler serves at once (more get 503).
const aimxMaxConns = 256

// acceptRetryable tells a failure of Accept worth retrying: one the
// listener calls temporary (as net/http's Server.Serve decides), or a
// lack of file descriptors or buffers.
func acceptRetryable(err error) bool {
	var ne interface{ Temporary() bool }
	if errors.As(err, &ne) && ne.Temporary() {
		return true
	}
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOBUFS) ||
		errors.Is(err, syscall.ENOMEM) || errors.Is(err, syscall.ECONNABORTED)
}

// ServeAIMX serves AimX 3.0 on ln (a Unix socket or TCP listener) until
// ctx ends or ln fails, then closes ln and the connections and returns
// once they are done; nil after ctx ended. A temporary Accept failure
// (such as too many open files) is logged and retried with backoff.
//
// Frames are newline-delimited JSON, as on upstream's Unix socket, or
// length-prefixed (a big-endian u32, then the frame), as on upstream's TCP
// transport: the client's first byte tells which (0 for a length). The
// version is negotiated in hello, as upstream's socket transports do. With
// [WithToken], hello must carry it as "auth_token" (a field of upstream's
// HelloMessage), and every request before is denied. Subscriptions are
// not acknowledged and an exact topic gets no snapshot, as on upstream's
// socket transports; see docs/aimx.md.
func (h *Handler) ServeAIMX(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel() // ends the connections, closes ln
		wg.Wait()
	}()
	context.AfterFunc(ctx, func() { ln.Close() })
	sem := make(chan struct{}, aimxMaxConns)
	var backoff time.Duration
	for {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		c, err := ln.Accept()
		if err != nil {
			<-sem
			if ctx.Err() != nil {
				return nil
			}
			if !acceptRetryable(err) {
				return err
			}
			// As net/http's Server.Serve: a temporary failure (out of
			// file descriptors, EMFILE) is retried after a pause growing
			// from 5 ms to 1 s.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			h.cfg.logger.Warn("rechisthttp: aimx accept failed; retrying", slog.Any("error", err), slog.Duration("in", backoff))
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		backoff = 0
		wg.Go(func() {
			defer func() { <-sem }()
			sc := newStreamConn(c, int(min(h.cfg.maxBodyBytes, 1<<30)))
			stop := context.AfterFunc(ctx, func() { sc.close("") })
			defer stop()
			h.runAIMX(ctx, sc, false, false)
		})
	}
}
