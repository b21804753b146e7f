package rechisthttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// budget bounds a request's own work by the query timeout: its context
// ends once the request has spent the timeout anywhere but blocked writing
// to its client. A client that reads slowly (or pauses) does not use it
// up, so a large answer is not cut for the client's download time; a
// client that stops reading is the write deadline's business
// (clientWriter). One goroutine, the handler's, pauses and resumes it.
type budget struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	left   time.Duration // what is left when the timer is stopped
	since  time.Time     // when the running stretch began
}

// errBudget is the cause of a budget's end; it is a deadline, so the
// request answers 503 (statusOf) when nothing has been written yet.
var errBudget = fmt.Errorf("its database work reached the query timeout: %w", context.DeadlineExceeded)

// newBudget starts the budget of r: the query timeout, running.
func (h *Handler) newBudget(r *http.Request) *budget {
	ctx, cancel := context.WithCancelCause(r.Context())
	b := &budget{ctx: ctx, cancel: cancel, left: h.cfg.queryTimeout, since: time.Now()}
	b.timer = time.AfterFunc(b.left, func() { cancel(errBudget) })
	return b
}

// pause stops the clock, while the handler waits for its client.
func (b *budget) pause() {
	if b != nil && b.timer.Stop() {
		b.left -= time.Since(b.since)
	}
}

// resume starts the clock again after pause.
func (b *budget) resume() {
	if b != nil && b.ctx.Err() == nil {
		b.since = time.Now()
		b.timer.Reset(max(b.left, 0))
	}
}

// end releases the budget's timer and context.
func (b *budget) end() {
	b.timer.Stop()
	b.cancel(context.Canceled)
}

// err is err as the request should report it: errBudget once the budget
// has run out (the library only saw its context cancelled), err
// otherwise.
func (b *budget) err(err error) error {
	if err != nil && b.ctx.Err() != nil && errors.Is(context.Cause(b.ctx), errBudget) {
		return errBudget
	}
	return err
}
