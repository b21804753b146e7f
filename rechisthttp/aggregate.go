package rechisthttp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "time/tzdata" // tz= names a zone on a machine without a zone database

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/timeparse"
)

// aggSpan is one record to aggregate: its name and the span of its rows
// within the request's range, in Unix ms.
type aggSpan struct {
	name   string
	lo, hi int64
}

// serveAggregate answers /api/aggregate, streamed record by record. The
// bucket count is bounded per record by the span of its rows within the
// range (from Records: its first and last rows), whether start and end
// are given or not; each record's buckets are read in chunks of aggChunk
// buckets (aggregateRecord), so memory holds one chunk whatever the
// answer's size. It takes a slot (acquire) and runs within its work
// budget.
func (h *Handler) serveAggregate(w http.ResponseWriter, r *http.Request) error {
	p, err := h.readParams(r, false)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	s := q.Get("every")
	if s == "" {
		return badRequest("every is required: the bucket width, such as 1m, 1h or 1d")
	}
	every, err := timeparse.Duration(s)
	if err != nil {
		return badRequest("every: %v", err)
	}
	if every < time.Millisecond || every%time.Millisecond != 0 {
		return badRequest("every %q must be a whole number of milliseconds, at least 1ms", s)
	}
	field := q.Get("field")
	var zone *time.Location
	if name := q.Get("tz"); name != "" {
		if zone, err = time.LoadLocation(name); err != nil || name == "Local" {
			return badRequest("tz %q is not a time zone: want an IANA name such as Europe/Vienna or UTC", name)
		}
	}
	release, err := h.acquire(r)
	if err != nil {
		return err
	}
	defer release()
	b := h.newBudget(r)
	defer b.end()
	ctx := b.ctx

	spans, err := h.aggSpans(ctx, p, every, s)
	if err != nil {
		return b.err(err)
	}
	if len(spans) == 0 {
		// Nothing in range: the library still checks the field (a 400).
		if _, err := h.db.Aggregate(ctx, p.pattern, rechist.AggregateParams{Field: field, Every: every, Start: p.start, End: p.end, Location: zone}); err != nil {
			return b.err(err)
		}
	}

	cw := h.newClientWriter(w, b)
	bw := bufio.NewWriterSize(cw, 32<<10)
	started, series := false, 0
	var line []byte
	for _, sp := range spans {
		buckets := 0
		tier, err := h.aggregateRecord(ctx, sp, p, rechist.AggregateParams{Field: field, Every: every, Location: zone}, func(k rechist.Bucket) error {
			if !started {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("X-Content-Type-Options", "nosniff")
				bw.WriteByte('[')
				started = true
			}
			line = line[:0]
			switch {
			case buckets > 0:
				line = append(line, ',')
			case series > 0:
				line = append(line, ',')
				fallthrough
			default:
				line = append(line, `{"name":`...)
				line = appendJSONString(line, sp.name)
				line = append(line, `,"buckets":[`...)
			}
			buckets++
			line = appendBucket(line, k)
			_, err := bw.Write(line)
			return err
		})
		if err != nil {
			if cw.wrote { // else nothing is sent yet: an error status still can be
				return fmt.Errorf("%w: %w", errStarted, b.err(err))
			}
			return b.err(err)
		}
		if buckets > 0 {
			// The widest rollup tier that answered; none: raw rows alone.
			if tier != 0 {
				fmt.Fprintf(bw, `],"tier_ms":%d}`, tier.Milliseconds())
			} else {
				bw.WriteString("]}")
			}
			series++
		}
	}
	if !started {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		bw.WriteByte('[')
	}
	bw.WriteString("]\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%w: %w", errStarted, err)
	}
	if err := cw.finish(); err != nil {
		return fmt.Errorf("%w: %w", errStarted, err)
	}
	return nil
}

// aggSpans lists the records to aggregate with the span of their rows
// within p's range, and refuses (400) a record with more than
// maxAggBuckets buckets in its span.
//
// A range given at both ends with at most aggChunk buckets (a chart's
// request) needs no spans: each record with a row in range is one chunk,
// and the names come from the newest row in range of each, one index
// seek a record. Any other request takes each record's first and last
// rows from Records, which also counts the record's rows in the index:
// cheaper than the aggregate's own reading of every row in range.
func (h *Handler) aggSpans(ctx context.Context, p params, every time.Duration, everyParam string) ([]aggSpan, error) {
	ms := every.Milliseconds()
	var spans []aggSpan
	if !p.start.IsZero() && !p.end.IsZero() {
		lo, hi := p.start.UnixMilli(), p.end.UnixMilli()
		if hi/ms-lo/ms+1 <= min(h.cfg.aggChunk, h.cfg.maxAggBuckets) {
			seen := map[string]bool{}
			for rec, err := range h.raw.All(ctx, p.pattern, rechist.QueryParams{Start: p.start, End: p.end, LimitPerRecord: 1}) {
				if err != nil {
					return nil, err
				}
				spans = append(spans, aggSpan{rec.Name, lo, hi})
				seen[rec.Name] = true
			}
			// Where policies keep rollup tiers, a record with no raw row in
			// range may have history there in its tiers (raw rows retention
			// deleted): one query each, an empty answer when it has none.
			tiered, err := h.hasTiers(ctx)
			if err != nil {
				return nil, err
			}
			var names []string
			if tiered {
				if names, err = h.db.Names(ctx, p.pattern); err != nil {
					return nil, err
				}
			}
			for _, name := range names {
				if !seen[name] {
					spans = append(spans, aggSpan{name, lo, hi})
				}
			}
			slices.SortFunc(spans, func(a, b aggSpan) int { return strings.Compare(a.name, b.name) })
			return spans, nil
		}
	}
	infos, err := h.db.Records(ctx, p.pattern)
	if err != nil {
		return nil, err
	}
	for _, info := range infos {
		lo, hi, ok := p.span(info)
		if !ok {
			continue
		}
		if n := hi/ms - lo/ms + 1; n > h.cfg.maxAggBuckets {
			return nil, badRequest("every %s makes %d buckets for record %q between its first and last rows in range; at most %d per record",
				everyParam, n, info.Name, h.cfg.maxAggBuckets)
		}
		spans = append(spans, aggSpan{info.Name, lo, hi})
	}
	return spans, nil
}

// hasTiers says whether a stored policy keeps rollup tiers.
func (h *Handler) hasTiers(ctx context.Context) (bool, error) {
	pols, err := h.db.Policies(ctx)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(pols, func(p rechist.Policy) bool { return len(p.Tiers) > 0 }), nil
}

// aggregateRecord calls emit with the buckets of one record, ascending,
// read in chunks of at most aggChunk buckets: each chunk is one Aggregate
// query over whole buckets (chunks start where buckets start, in a's time
// zone too), so its answer is the same as one query's. The first chunk
// begins where the request's range begins and the last ends where it
// ends, so rows stored beyond the span Records saw are not missed between
// chunks. a gives the field, width and zone.
//
// It returns the widest rollup tier that served a chunk (0: raw rows
// alone served them all).
func (h *Handler) aggregateRecord(ctx context.Context, sp aggSpan, p params, a rechist.AggregateParams, emit func(rechist.Bucket) error) (time.Duration, error) {
	var tier time.Duration
	ms := a.Every.Milliseconds()
	width := ms * min(h.cfg.aggChunk, math.MaxInt64/4/ms)
	from := a.BucketStart(time.UnixMilli(sp.lo)).UnixMilli()
	for c := from; ; {
		next := a.BucketStart(time.UnixMilli(c + width)).UnixMilli()
		if next <= c { // a zone's bucket longer than the chunk: never with aggChunk's buckets
			next = c + width
		}
		q := a
		q.Start, q.End = time.UnixMilli(c), time.UnixMilli(next-1)
		if c == from {
			q.Start = p.start
		}
		last := next-1 >= sp.hi
		if last {
			q.End = p.end
		}
		series, err := h.db.Aggregate(ctx, sp.name, q)
		if err != nil {
			return tier, err
		}
		// A name read as a pattern is that record alone, unless it holds
		// '*' (or a topic wildcard): other records' series are skipped.
		for _, s := range series {
			if s.Name != sp.name {
				continue
			}
			tier = max(tier, s.Tier)
			for _, k := range s.Buckets {
				if err := emit(k); err != nil {
					return tier, err
				}
			}
		}
		if last {
			return tier, nil
		}
		c = next
	}
}

// appendBucket appends k as JSON: {"start","count","min","max","mean",
// "sum","first","last"}, a number that JSON cannot carry (±Inf, NaN) as
// null.
func appendBucket(b []byte, k rechist.Bucket) []byte {
	b = append(b, `{"start":`...)
	b = strconv.AppendInt(b, k.Start.UnixMilli(), 10)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, k.Count, 10)
	for _, f := range [...]struct {
		key string
		v   float64
	}{{`,"min":`, k.Min}, {`,"max":`, k.Max}, {`,"mean":`, k.Mean}, {`,"sum":`, k.Sum}, {`,"first":`, k.First}, {`,"last":`, k.Last}} {
		b = append(b, f.key...)
		b = appendNumber(b, f.v)
	}
	return append(b, '}')
}

// appendNumber appends f as a JSON number, null when it is not finite.
// Plain notation from 1e-6 to below 1e21 and exponents otherwise, the
// shortest digits that read back as f: what encoding/json writes.
func appendNumber(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, "null"...)
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 'e' writes at least two exponent digits: 1e-07 becomes 1e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendJSONString appends s as a JSON string, HTML characters as they
// are (as writeJSON writes them).
func appendJSONString(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}
