package rechisthttp

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed178a96f3/rechist"
)

// Subscriptions follow the table by row id, as /api/stream does
// (stream.go): each reads the rows committed after the point it began, by
// any process, exactly once and in commit order, at its own pace (the
// database is its buffer, so no event is dropped and seq has no gaps; a
// client that keeps a write blocked for the write timeout is cut instead).
// What tells them that rows arrived is the handler's aimxHub: one poll of
// DB.LastID every aimxPoll while any subscription is open, so 100
// subscriptions cost one query a poll when nothing happens, not 100.

// aimxPoll is the most the hub waits between two looks at the newest row
// id (less when WithPollInterval says less).
const aimxPoll = 50 * time.Millisecond

// aimxFallback is how often a subscription reads the table even when the
// hub saw no new id: on PostgreSQL a row may commit below the newest id.
const aimxFallback = time.Second

// aimxHub wakes the subscriptions of one handler when new rows appear.
type aimxHub struct {
	mu   sync.Mutex
	n    int           // subscriptions following
	wake chan struct{} // closed (and replaced) when the newest id moves
	stop chan struct{} // closed when the last subscription leaves

	counts aimxCounts // record.query's counts of records (aimx_query.go)

	// pages are the table's pages read since the last wake-up, by the
	// after they were read from: the subscriptions of every session that
	// woke at the same wake-up read each page once between them
	// (changes), not once each. notify empties it.
	pages map[int64]*aimxPage

	// wsSessions counts the open WebSocket sessions, at most aimxMaxConns
	// as ServeAIMX's connections.
	wsSessions atomic.Int64
}

// join counts a subscription in, starting the poller for the first one.
func (hb *aimxHub) join(h *Handler) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if hb.wake == nil {
		hb.wake = make(chan struct{})
	}
	hb.n++
	if hb.n == 1 {
		hb.stop = make(chan struct{})
		go hb.poll(h, hb.stop)
	}
}

// leave counts a subscription out, stopping the poller with the last one.
func (hb *aimxHub) leave() {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	hb.n--
	if hb.n == 0 {
		close(hb.stop)
		hb.stop = nil
	}
}

// waiter returns the channel closed at the next wake-up. Take it before
// reading the table, so rows committed during the read still wake.
func (hb *aimxHub) waiter() <-chan struct{} {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if hb.wake == nil {
		hb.wake = make(chan struct{})
	}
	return hb.wake
}

// notify wakes every subscription.
func (hb *aimxHub) notify() {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if hb.wake != nil {
		close(hb.wake)
	}
	hb.wake = make(chan struct{})
	hb.pages = nil // pages read before may miss rows that woke us
}

// aimxPage is one page of the table (every record's rows), read once for
// the subscriptions that ask for it.
type aimxPage struct {
	done    chan struct{} // closed once read
	changes []rechist.Change
	next    int64
	err     error
}

// aimxMaxPages bounds the pages kept between two wake-ups.
const aimxMaxPages = 64

// changes is DB.Changes of every record from after, shared: the first
// subscription to ask for a page since the last wake-up reads it, the
// others wait for it. The caller filters the rows by its topic. A page is
// only as new as the wake-up; rows committed after it wake everyone
// again (notify). When the shared read fails (the reader's ctx ended, or
// the table could not be read), the caller reads on its own.
func (hb *aimxHub) changes(ctx context.Context, h *Handler, after int64) ([]rechist.Change, int64, error) {
	hb.mu.Lock()
	if hb.pages == nil {
		hb.pages = map[int64]*aimxPage{}
	}
	pg, ok := hb.pages[after]
	if !ok {
		pg = &aimxPage{done: make(chan struct{})}
		if len(hb.pages) < aimxMaxPages {
			hb.pages[after] = pg
		}
	}
	hb.mu.Unlock()
	all := h.dbPattern("#")
	if !ok {
		pg.changes, pg.next, pg.err = h.db.Changes(ctx, all, after, streamPage)
		if pg.err != nil {
			hb.mu.Lock()
			if hb.pages[after] == pg {
				delete(hb.pages, after)
			}
			hb.mu.Unlock()
		}
		close(pg.done)
		return pg.changes, pg.next, pg.err
	}
	select {
	case <-pg.done:
	case <-ctx.Done():
		return nil, after, ctx.Err()
	}
	if pg.err != nil {
		return h.db.Changes(ctx, all, after, streamPage)
	}
	return pg.changes, pg.next, nil
}

// poll looks at the newest row id until stop is closed.
func (hb *aimxHub) poll(h *Handler, stop chan struct{}) {
	every := min(aimxPoll, h.cfg.pollInterval)
	tick := time.NewTicker(every)
	defer tick.Stop()
	last := int64(-1)
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), h.cfg.queryTimeout)
		id, err := h.db.LastID(ctx)
		cancel()
		if err == nil && id != last {
			last = id
			hb.notify()
		}
	}
}

// aimxSub is one open subscription.
type aimxSub struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// follow sends an event for each row past after whose record matches
// topic, until ctx ends; seq is the last sequence number used (by the
// snapshots). It ends the subscription with an "internal" reply carrying
// its id when the table cannot be read, the way upstream's client learns
// that a subscription ended for good, and the connection when the
// database closes or the server shuts down.
func (s *aimxSession) follow(ctx context.Context, id uint64, topic, dbPattern string, after int64, seq uint64) {
	h := s.h
	h.aimx.join(h)
	defer h.aimx.leave()
	// Counted with /api/stream's subscribers (rechist_stream_subscribers).
	h.metrics.subscribers.Inc()
	defer h.metrics.subscribers.Dec()
	sub := strconv.FormatUint(id, 10)
	// On a socket, an event of an exact topic carries no "topic", as
	// upstream's AimxDispatch::subscribe sends SubUpdate::new (untagged)
	// for one and SubUpdate::tagged for a wildcard (aimdb-core
	// src/session/aimx/dispatch.rs at 0348e9f; the codec's test
	// event_roundtrip_without_topic). The WebSocket always names it.
	tagged := s.ws || isWildcard(topic)
	fallback := time.NewTicker(aimxFallback)
	defer fallback.Stop()
	var frame []byte
	// shared: the table is read through the hub's pages, shared by every
	// subscription woken together (one read a page, not one a
	// subscription); after the fallback tick, which no wake-up caused (a
	// row committed below the newest id on PostgreSQL), on its own.
	shared := true
	for {
		wake := h.aimx.waiter()
		for {
			var changes []rechist.Change
			var next int64
			var err error
			if shared {
				changes, next, err = h.aimx.changes(ctx, h, after)
			} else {
				changes, next, err = h.db.Changes(ctx, dbPattern, after, streamPage)
			}
			switch {
			case ctx.Err() != nil:
				return
			case errors.Is(err, rechist.ErrClosed):
				s.end("the database is closing")
				return
			case err != nil:
				h.cfg.logger.Error("rechisthttp: aimx subscription read failed", slog.String("topic", topic), slog.Any("error", err))
				s.send(appendReplyErr(nil, id, aimxInternal))
				return
			}
			for _, c := range changes {
				if !topicMatches(topic, c.Name) {
					continue
				}
				seq++
				name := c.Name
				if !tagged {
					name = ""
				}
				frame = appendEvent(frame[:0], sub, seq, name, c.Value)
				if !s.send(frame) {
					return
				}
			}
			if next == after {
				break
			}
			after = next
		}
		select {
		case <-ctx.Done():
			return
		case <-h.streams.done:
			s.end("the server is shutting down")
			return
		case <-wake:
			shared = true
		case <-fallback.C:
			shared = false
		}
	}
}
