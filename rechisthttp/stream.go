package rechisthttp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/seed178a96f3/rechist"
)

// streams tracks whether the handler still accepts streams.
type streams struct {
	mu     sync.Mutex
	closed bool
	done   chan struct{}
}

func (s *streams) init() { s.done = make(chan struct{}) }

// CloseStreams ends every open /api/stream with a final "closed" event
// and refuses new ones with 503. A server calls it when it shuts down
// (http.Server.RegisterOnShutdown), since Shutdown waits for streams that
// would otherwise never end.
func (h *Handler) CloseStreams() {
	h.streams.mu.Lock()
	defer h.streams.mu.Unlock()
	if !h.streams.closed {
		h.streams.closed = true
		close(h.streams.done)
	}
}

const (
	// streamPage is the most rows one read of the table returns.
	streamPage = 1000
	// streamWriteTimeout is the default of WithWriteTimeout: how long a
	// subscriber may keep a write blocked (its socket full) before it is
	// dropped, and a client of an answer (clientWriter) before it is cut.
	streamWriteTimeout = 10 * time.Second
)

// serveStream follows the table by row id and sends each new row matching
// the pattern as an event: every row committed after the request began
// (or after Last-Event-ID), by any process, exactly once, in commit order.
//
// Each subscriber reads the database itself, at most streamPage rows at a
// time: a slow one only falls behind (the database is its buffer), and
// one whose writes stay blocked for the write timeout is dropped; nothing
// it does holds up the others.
func (h *Handler) serveStream(w http.ResponseWriter, r *http.Request) error {
	p, err := h.readParams(r, false)
	if err != nil {
		return err
	}
	after := int64(-1)
	for _, s := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("lastEventId")} {
		if s == "" {
			continue
		}
		if after, err = strconv.ParseInt(s, 10, 64); err != nil || after < 0 {
			return badRequest("Last-Event-ID %q is not a row id", s)
		}
		break
	}
	h.streams.mu.Lock()
	closed := h.streams.closed
	h.streams.mu.Unlock()
	if closed {
		return &statusError{http.StatusServiceUnavailable, "the server is shutting down"}
	}
	ctx := r.Context()
	if after < 0 {
		if after, err = h.db.LastID(ctx); err != nil {
			return err
		}
	}
	// Check the pattern before the answer starts, so a bad one is a 400.
	if _, _, err := h.db.Changes(ctx, p.pattern, after, 1); err != nil {
		return err
	}

	rc := http.NewResponseController(w)
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	h.metrics.subscribers.Inc()
	defer h.metrics.subscribers.Dec()

	bw := bufio.NewWriterSize(w, 32<<10)
	flush := func() error {
		if err := rc.SetWriteDeadline(time.Now().Add(h.cfg.writeTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	// final sends a last event, as far as the client still reads.
	final := func(event, msg string) {
		data, _ := json.Marshal(map[string]string{"reason": msg})
		fmt.Fprintf(bw, "event: %s\ndata: %s\n\n", event, data)
		_ = flush()
	}
	fmt.Fprintf(bw, "retry: 2000\n: following rows after id %d\n\n", after)
	if err := flush(); err != nil {
		return nil
	}

	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	poll := time.NewTicker(h.cfg.pollInterval)
	defer poll.Stop()
	lastWrite := time.Now()
	for {
		// Read until caught up.
		for {
			changes, next, err := h.db.Changes(ctx, p.pattern, after, streamPage)
			switch {
			case ctx.Err() != nil:
				return nil
			case errors.Is(err, rechist.ErrClosed):
				final("closed", "the database is closing")
				return nil
			case err != nil:
				h.cfg.logger.Error("rechisthttp: stream read failed", slog.Any("error", err))
				final("error", err.Error())
				return nil
			}
			// The write deadline is absolute: set it before the page, whose
			// events may fill bw and reach the socket before flush does
			// (with the deadline of the last flush, long past after a quiet
			// spell, every such write would fail at once).
			if err := rc.SetWriteDeadline(time.Now().Add(h.cfg.writeTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
				h.drop(err)
				return nil
			}
			for _, c := range changes {
				fmt.Fprintf(bw, "event: record\nid: %d\ndata: ", c.ID)
				if err := enc.Encode(row{c.Name, c.Value, c.StoredAt.UnixMilli()}); err != nil {
					h.drop(err)
					return nil
				}
				bw.WriteByte('\n') // Encode ended the data line; this ends the event
			}
			if len(changes) > 0 {
				if err := flush(); err != nil {
					h.drop(err)
					return nil
				}
				h.metrics.streamed.Add(float64(len(changes)))
				lastWrite = time.Now()
			}
			if next == after {
				break
			}
			after = next
		}
		select {
		case <-ctx.Done():
			return nil
		case <-h.streams.done:
			final("closed", "the server is shutting down")
			return nil
		case <-poll.C:
		}
		if time.Since(lastWrite) >= h.cfg.heartbeat {
			bw.WriteString(": heartbeat\n\n")
			if err := flush(); err != nil {
				h.drop(err)
				return nil
			}
			lastWrite = time.Now()
		}
	}
}

// drop counts and logs a subscriber whose writes failed or timed out.
func (h *Handler) drop(err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	h.metrics.dropped.Inc()
	h.cfg.logger.Warn("rechisthttp: dropped a stream subscriber", slog.Any("error", err))
}
