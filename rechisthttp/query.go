package rechisthttp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/core"
)

// row is one stored row as the API shows it.
type row struct {
	Topic   string          `json:"topic"`
	Payload json.RawMessage `json:"payload"`
	TS      int64           `json:"ts"`
}

// serveQuery answers /api/query in the shape of AimX record.query, rows
// sorted by ts, then name, then insert order, streamed as they are found.
// It takes a slot (acquire) and runs within its work budget: the time it
// is blocked writing to its client does not count.
func (h *Handler) serveQuery(w http.ResponseWriter, r *http.Request) error {
	p, err := h.readParams(r, false)
	if err != nil {
		return err
	}
	limit := 1
	if s := r.URL.Query().Get("limit"); s != "" {
		limit, err = strconv.Atoi(s)
		if err != nil || limit < 0 {
			return badRequest("limit %q is not a whole number from 0 (0: no limit)", s)
		}
	}
	release, err := h.acquire(r)
	if err != nil {
		return err
	}
	defer release()
	b := h.newBudget(r)
	defer b.end()
	cw := h.newClientWriter(w, b)

	bw := bufio.NewWriterSize(cw, 32<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	total := 0
	started := false
	err = h.sortedRows(b.ctx, p, limit, func(rw row) error {
		if !started {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			bw.WriteString(`{"records":[`)
			started = true
		} else {
			bw.WriteByte(',')
		}
		total++
		return enc.Encode(rw) // Encode's newline is JSON whitespace
	})
	if err != nil {
		if cw.wrote { // else nothing is sent yet: an error status still can be
			return fmt.Errorf("%w: %w", errStarted, b.err(err))
		}
		return b.err(err)
	}
	if !started {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		bw.WriteString(`{"records":[`)
	}
	fmt.Fprintf(bw, `],"total":%d}`+"\n", total)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%w: %w", errStarted, err)
	}
	if err := cw.finish(); err != nil {
		return fmt.Errorf("%w: %w", errStarted, err)
	}
	return nil
}

// sortedRows calls emit for the rows /api/query answers, in its order (ts,
// then name, then insert order), as [rechist.Repo.Timeline] streams them:
// memory is bounded by one window of the handler's windowRows and
// windowBytes (see docs/serve.md).
func (h *Handler) sortedRows(ctx context.Context, p params, limit int, emit func(row) error) error {
	ctx = core.WithTimelineWindow(ctx, h.cfg.windowRows, h.cfg.windowBytes)
	qp := rechist.QueryParams{Start: p.start, End: p.end, LimitPerRecord: limit}
	for rec, err := range h.raw.Timeline(ctx, p.pattern, qp) {
		if err != nil {
			return err
		}
		if err := emit(row{rec.Name, rec.Value, rec.StoredAt.UnixMilli()}); err != nil {
			return err
		}
	}
	return nil
}
