package rechisthttp

import (
	"cmp"
	"context"
	"encoding/json"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"sync"
	"time"
	"unsafe"

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
	add := func(name string, ms int64, value string) {
		total++
		if len(out) > replyHeadroom+s.h.cfg.windowBytes {
			return // counted, not sent
		}
		if total > 1 {
			out = append(out, ',')
		}
		out = append(out, `{"topic":`...)
		out = appendAIMXString(out, name)
		out = append(out, `,"payload":`...)
		out = append(out, value...)
		out = append(out, `,"ts":`...)
		out = strconv.AppendInt(out, ms, 10)
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
		// The core's rows, as QueryLatest reads them, without a Record
		// and a copy of each value: a value that is not JSON is skipped,
		// logged and counted here as QueryLatest skips it.
		rng := core.Range{StartMs: math.MinInt64, EndMs: math.MaxInt64, LimitPerRecord: int64(limit)}
		if !qp.Start.IsZero() {
			rng.StartMs = qp.Start.UnixMilli()
		}
		if !qp.End.IsZero() {
			rng.EndMs = qp.End.UnixMilli()
		}
		recs, err := s.h.core.Query(ctx, dbPat, rng)
		if err != nil {
			return nil, err
		}
		size := 0
		for i := range recs {
			size += len(recs[i].Name) + len(recs[i].ValueJSON) + 40
		}
		out = s.replyBuffer(min(size, s.h.cfg.windowBytes+1<<10))
		out = append(out, `{"records":[`...)
		for _, i := range replyOrder(recs, pattern) {
			if r := &recs[i]; s.h.core.ValidValue(r) {
				add(r.Name, r.StoredAt, r.ValueJSON)
			}
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
				add(rec.Name, rec.StoredAt.UnixMilli(), unsafe.String(unsafe.SliceData(rec.Value), len(rec.Value)))
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

// replyOrder returns the indexes of the rows of records that pattern
// matches in record.query's order: by time, then name, then insert order.
// Query gives them by name, each record's newest first (the later store
// first among equal times). Numbered backwards within each record, the
// rows in (name, insert order) get consecutive ordinals, so the reply's
// order is that of (time, ordinal): one uint64 a row, the time above the
// ordinal's bits, sorted as integers, when the times span fewer
// milliseconds than those bits leave (2^50, 35,000 years, for up to
// 16,383 rows); else a sort of the pairs.
func replyOrder(recs []core.Row, pattern string) []int32 {
	ord := make([]int32, len(recs)) // ordinal -> index
	minMs, maxMs := int64(math.MaxInt64), int64(math.MinInt64)
	n := 0
	for s := 0; s < len(recs); {
		e := s + 1
		for e < len(recs) && recs[e].Name == recs[s].Name {
			e++
		}
		if topicMatches(pattern, recs[s].Name) {
			for i := e - 1; i >= s; i-- {
				ord[n] = int32(i)
				n++
				minMs, maxMs = min(minMs, recs[i].StoredAt), max(maxMs, recs[i].StoredAt)
			}
		}
		s = e
	}
	ord = ord[:n]
	shift := uint(bits.Len(uint(n)))
	if n == 0 || uint64(maxMs-minMs) >= 1<<(64-shift) {
		return orderBySort(recs, ord)
	}
	keys := make([]uint64, n)
	for o, i := range ord {
		keys[o] = uint64(recs[i].StoredAt-minMs)<<shift | uint64(o)
	}
	slices.Sort(keys)
	out := make([]int32, n)
	for k, key := range keys {
		out[k] = ord[key&(1<<shift-1)]
	}
	return out
}

// orderBySort is replyOrder's order for times too far apart to share a
// uint64 with an ordinal.
func orderBySort(recs []core.Row, ord []int32) []int32 {
	type key struct {
		ms int64
		o  int32
	}
	keys := make([]key, len(ord))
	for o, i := range ord {
		keys[o] = key{recs[i].StoredAt, int32(o)}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.ms != b.ms {
			return cmp.Compare(a.ms, b.ms)
		}
		return cmp.Compare(a.o, b.o)
	})
	out := make([]int32, len(ord))
	for k, key := range keys {
		out[k] = ord[key.o]
	}
	return out
}
