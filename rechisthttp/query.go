package rechisthttp

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/seed178a96f3/rechist"
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

// cutoff is where one record's newest limit rows begin: its oldest
// included time, and how many rows at that time are included (the newest
// stores among the rows of that millisecond).
type cutoff struct {
	ms   int64
	ties int
	left int // rows still to emit, so the limit holds even against rows stored meanwhile
}

// sortedRows calls emit for the rows /api/query answers, in its order,
// with memory bounded by one window of rows (see docs/serve.md):
//
//  1. A first pass over All with the per-record limit (at least 1) finds
//     the newest row in range (the answer's last time) and, with a limit,
//     each record's cutoff. It keeps one entry per record, not rows.
//  2. The time range is then read in windows of ascending time, each one
//     All query of its own; a window's rows (grouped by name, newest
//     first) are sorted by ts, name and insert order and emitted. A window
//     that would hold more than windowRows rows or windowBytes bytes is
//     given up and halved; a window with few rows doubles the next one, so
//     empty stretches of time cost a few queries. Only a single
//     millisecond holding more rows than the bound is kept whole.
func (h *Handler) sortedRows(ctx context.Context, p params, limit int, emit func(row) error) error {
	qp := rechist.QueryParams{Start: p.start, End: p.end, LimitPerRecord: max(limit, 1)}
	cuts := map[string]*cutoff{}
	lo, hi := int64(math.MaxInt64), int64(-1)
	for rec, err := range h.raw.All(ctx, p.pattern, qp) {
		if err != nil {
			return err
		}
		ms := rec.StoredAt.UnixMilli()
		hi = max(hi, ms)
		if limit == 0 {
			continue
		}
		c := cuts[rec.Name]
		switch {
		case c == nil:
			cuts[rec.Name] = &cutoff{ms: ms, ties: 1, left: limit}
		case c.ms == ms:
			c.ties++
		default:
			c.ms, c.ties = ms, 1
		}
	}
	if hi < 0 {
		return nil
	}
	if limit > 0 {
		for _, c := range cuts {
			lo = min(lo, c.ms)
		}
	} else {
		lo = 0
		if !p.start.IsZero() {
			lo = p.start.UnixMilli()
		}
	}

	width := max(1, (hi-lo)/64+1)
	type item struct {
		row
		seq int
	}
	var buf []item
	for lo <= hi {
		end := hi
		if width-1 < hi-lo {
			end = lo + width - 1
		}
		buf = buf[:0]
		bytes, full := 0, false
		seen := map[string]int{} // rows at the cutoff time taken so far, per record
		for rec, err := range h.raw.All(ctx, p.pattern, rechist.QueryParams{Start: time.UnixMilli(lo), End: time.UnixMilli(end)}) {
			if err != nil {
				return err
			}
			ms := rec.StoredAt.UnixMilli()
			if limit > 0 {
				c := cuts[rec.Name]
				if c == nil || ms < c.ms {
					continue // a record that was not there, or rows older than its newest limit
				}
				if ms == c.ms {
					if seen[rec.Name] == c.ties {
						continue // rows of the cutoff millisecond stored before the newest ties
					}
					seen[rec.Name]++
				}
			}
			buf = append(buf, item{row{rec.Name, rec.Value, ms}, len(buf)})
			bytes += len(rec.Value) + len(rec.Name)
			if (len(buf) > h.cfg.windowRows || bytes > h.cfg.windowBytes) && end > lo {
				full = true
				break
			}
		}
		if full {
			width = max(1, (end-lo+1)/2)
			continue
		}
		// Within a record, All yields the later store first among equal
		// times: a higher seq is an earlier store.
		slices.SortFunc(buf, func(a, b item) int {
			return cmp.Or(cmp.Compare(a.TS, b.TS), cmp.Compare(a.Topic, b.Topic), cmp.Compare(b.seq, a.seq))
		})
		for _, it := range buf {
			if limit > 0 {
				c := cuts[it.Topic]
				if c.left == 0 {
					continue
				}
				c.left--
			}
			if err := emit(it.row); err != nil {
				return err
			}
		}
		if len(buf) <= h.cfg.windowRows/2 && width < math.MaxInt64/2 {
			width *= 2
		}
		if end == hi {
			break
		}
		lo = end + 1
	}
	return ctx.Err()
}
