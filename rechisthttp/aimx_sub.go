package rechisthttp

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
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
	sub := strconv.FormatUint(id, 10)
	fallback := time.NewTicker(aimxFallback)
	defer fallback.Stop()
	var frame []byte
	for {
		wake := h.aimx.waiter()
		for {
			changes, next, err := h.db.Changes(ctx, dbPattern, after, streamPage)
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
				frame = appendEvent(frame[:0], sub, seq, c.Name, c.Value)
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
		case <-fallback.C:
		}
	}
}
