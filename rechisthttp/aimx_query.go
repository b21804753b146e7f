package rechisthttp

import (
	"cmp"
	"context"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/core"
)

// recordQuery answers record.query {name, limit, start, end} as
// aimdb-persistence's query handler does (src/builder_ext.rs,
// with_persistence; tests/query_handler_shape.rs):
//
//   - name is a topic pattern, "#" (every record) when absent;
//   - limit is the newest rows per record, 1 when absent (0 selects none);
//   - start and end bound the time in Unix ms, both inclusive;
//   - the result is {"records":[{"topic","payload","ts"}],"total":N},
//     rows by ts ascending (then name, then insert order).
//
// A member of the wrong type counts as absent, as upstream's as_str and
// as_u64 make it. A reply carries at most the handler's window bytes (16
// MiB) of rows: past them the rows are still counted, so a total larger
// than the rows sent says the reply was cut.
func (s *aimxSession) recordQuery(ctx context.Context, p aimxParams) ([]byte, error) {
	pattern, ok := str(p.Name)
	if !ok {
		pattern = "#"
	}
	limit := 1
	if n, ok := u64(p.Limit); ok {
		limit = int(min(n, math.MaxInt32))
	}
	var qp rechist.QueryParams
	for _, b := range []struct {
		raw json.RawMessage
		t   *time.Time
	}{{p.Start, &qp.Start}, {p.End, &qp.End}} {
		if n, ok := u64(b.raw); ok {
			if n > math.MaxInt64 {
				return nil, aimxError(aimxInternal) // upstream: "start_time overflows i64"
			}
			*b.t = time.UnixMilli(int64(n))
		}
	}
	if limit == 0 || !qp.Start.IsZero() && !qp.End.IsZero() && qp.Start.After(qp.End) {
		return []byte(`{"records":[],"total":0}`), nil
	}
	qp.LimitPerRecord = limit
	release, err := s.h.slot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	dbPat := s.h.dbPattern(pattern)
	var out []byte
	total := 0
	add := func(rec rechist.Record[json.RawMessage]) {
		total++
		if len(out) > replyHeadroom+s.h.cfg.windowBytes {
			return // counted, not sent
		}
		if total > 1 {
			out = append(out, ',')
		}
		out = append(out, `{"topic":`...)
		out = appendAIMXString(out, rec.Name)
		out = append(out, `,"payload":`...)
		out = append(out, rec.Value...)
		out = append(out, `,"ts":`...)
		out = strconv.AppendInt(out, rec.StoredAt.UnixMilli(), 10)
		out = append(out, '}')
	}
	// At most limit rows a matching record: up to the handler's window
	// rows, they are read at once (Query seeks each record's newest rows,
	// as QueryLatest does) and sorted here; beyond, Timeline streams them
	// in order within one window of memory.
	records, err := s.h.aimx.countRecords(ctx, s.h, pattern, dbPat)
	if err != nil {
		return nil, err
	}
	if records*int64(limit) <= int64(s.h.cfg.windowRows) {
		recs, err := s.h.raw.Query(ctx, dbPat, qp)
		if err != nil {
			return nil, err
		}
		size := 0
		for _, r := range recs {
			size += len(r.Name) + len(r.Value) + 40
		}
		out = s.replyBuffer(min(size, s.h.cfg.windowBytes+1<<10))
		out = append(out, `{"records":[`...)
		// Query's order is name, then newest first (the later store first
		// among equal times): backwards, each record's rows are in insert
		// order, so sorting by time, then name, then position backwards
		// gives /api/query's order. A record's place in Query's order
		// stands for its name, so the sort compares integers only.
		type key struct {
			ts       int64
			rec, pos int32
		}
		keys := make([]key, 0, len(recs))
		rec := int32(0)
		for i := range recs {
			if i > 0 && recs[i].Name != recs[i-1].Name {
				rec++
			}
			if topicMatches(pattern, recs[i].Name) {
				keys = append(keys, key{recs[i].StoredAt.UnixMilli(), rec, int32(i)})
			}
		}
		slices.SortFunc(keys, func(a, b key) int {
			if a.ts != b.ts {
				return cmp.Compare(a.ts, b.ts)
			}
			if a.rec != b.rec {
				return cmp.Compare(a.rec, b.rec)
			}
			return cmp.Compare(b.pos, a.pos)
		})
		for _, k := range keys {
			add(recs[k.pos])
		}
	} else {
		out = s.replyBuffer(4096)
		out = append(out, `{"records":[`...)
		ctx := core.WithTimelineWindow(ctx, s.h.cfg.windowRows, s.h.cfg.windowBytes)
		for rec, err := range s.h.raw.Timeline(ctx, dbPat, qp) {
			if err != nil {
				return nil, err
			}
			if topicMatches(pattern, rec.Name) {
				add(rec)
			}
		}
	}
	out = append(out, `],"total":`...)
	out = strconv.AppendInt(out, int64(total), 10)
	s.inPlace = true
	return append(out, '}'), nil
}

// aimxCounts remembers how many records a pattern matched, and the newest
// row id then: until a row is stored no record can appear, so the count
// still bounds what a query reads (records only go away meanwhile).
type aimxCounts struct {
	mu sync.Mutex
	m  map[string]aimxCount
}

type aimxCount struct{ lastID, records int64 }

// aimxMaxCounts is how many patterns' counts are kept.
const aimxMaxCounts = 64

// countRecords returns how many records match the topic pattern, read
// from the names table (DB.Names) unless no row was stored since the last
// count of it.
func (hb *aimxHub) countRecords(ctx context.Context, h *Handler, pattern, dbPat string) (int64, error) {
	id, err := h.db.LastID(ctx)
	if err != nil {
		return 0, err
	}
	hb.counts.mu.Lock()
	c, ok := hb.counts.m[pattern]
	hb.counts.mu.Unlock()
	if ok && c.lastID == id {
		return c.records, nil
	}
	names, err := h.db.Names(ctx, dbPat)
	if err != nil {
		return 0, err
	}
	n := int64(0)
	for _, name := range names {
		if topicMatches(pattern, name) {
			n++
		}
	}
	hb.counts.mu.Lock()
	defer hb.counts.mu.Unlock()
	if hb.counts.m == nil || len(hb.counts.m) >= aimxMaxCounts {
		hb.counts.m = map[string]aimxCount{}
	}
	hb.counts.m[pattern] = aimxCount{id, n}
	return n, nil
}
