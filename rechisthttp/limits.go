package rechisthttp

import (
	"fmt"
	"net/http"
	"runtime"
	"time"
)

// WithMaxConcurrentQueries bounds how many /api/query, /api/aggregate and
// /api/export requests run at once (default twice GOMAXPROCS). Each holds
// memory (a window of rows, a chunk of buckets) and takes a database
// connection while it reads; more at once only share the same cores and
// connections. A request beyond the limit waits for a slot, at most the
// query timeout, then answers 503 with Retry-After. A slot is held until
// the answer is complete, its client's download included. n < 1 keeps the
// default.
func WithMaxConcurrentQueries(n int) Option {
	return func(c *config) {
		if n >= 1 {
			c.maxQueries = n
		}
	}
}

// WithWriteTimeout is how long one write of an answer may stay blocked
// because its client does not read (default 10 s); past it the connection
// is cut (a stream subscriber is dropped). It is per write, so a client
// that reads slowly but steadily gets all of a long answer, and one that
// stopped reading is cut within the timeout. d <= 0 keeps the default.
func WithWriteTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.writeTimeout = d
		}
	}
}

// defaultMaxQueries is WithMaxConcurrentQueries' default.
func defaultMaxQueries() int { return 2 * runtime.GOMAXPROCS(0) }

// acquire takes a slot for a heavy request (query, aggregate, export),
// waiting at most the query timeout; release gives it back. Waiting does
// not count against the request's work budget.
func (h *Handler) acquire(r *http.Request) (release func(), err error) {
	release = func() { <-h.slots }
	select {
	case h.slots <- struct{}{}:
		return release, nil
	default:
	}
	wait := time.NewTimer(h.cfg.queryTimeout)
	defer wait.Stop()
	select {
	case h.slots <- struct{}{}:
		return release, nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	case <-wait.C:
		return nil, &statusError{http.StatusServiceUnavailable, fmt.Sprintf(
			"the server is busy: %d queries, aggregates and exports are in progress, the most it runs at once; try again", cap(h.slots))}
	}
}
