package rechisthttp

import (
	"net/http"
	"sync"
)

// streams tracks the open streams, so CloseStreams can end them.
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

// serveStream is written once DB.Changes lands.
func (h *Handler) serveStream(w http.ResponseWriter, r *http.Request) error {
	return &statusError{http.StatusNotImplemented, "not yet"}
}
