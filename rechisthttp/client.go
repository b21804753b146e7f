package rechisthttp

import (
	"errors"
	"net/http"
	"time"
)

// clientWriter is how an answer of query, aggregate and export reaches its
// client. Each write gets a fresh deadline, the write timeout from now: a
// client whose socket stays full that long is cut (the write fails, the
// handler aborts the connection), one that reads slowly but steadily is
// not. The deadline is cleared once the write is done, so database work
// between writes never runs against it (HTTP/2 resets a stream whose
// deadline passes even between writes). While a write blocks, the
// request's work budget is paused.
type clientWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	budget  *budget // nil: the request has none
	wrote   bool    // a Write has begun: the status is sent, or being sent
}

func (h *Handler) newClientWriter(w http.ResponseWriter, b *budget) *clientWriter {
	return &clientWriter{w: w, rc: http.NewResponseController(w), timeout: h.cfg.writeTimeout, budget: b}
}

func (c *clientWriter) Write(p []byte) (int, error) {
	c.wrote = true
	c.budget.pause()
	defer c.budget.resume()
	if err := c.deadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	n, err := c.w.Write(p)
	if err != nil {
		return n, err
	}
	return n, c.deadline(time.Time{})
}

// finish sends what the server still buffers, within a deadline that
// stays set for the server's own last write after the handler returns
// (the end of a chunked body); the server clears it before the next
// request on the connection.
func (c *clientWriter) finish() error {
	c.budget.pause()
	defer c.budget.resume()
	if err := c.deadline(time.Now().Add(c.timeout)); err != nil {
		return err
	}
	if err := c.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

func (c *clientWriter) deadline(t time.Time) error {
	if err := c.rc.SetWriteDeadline(t); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
