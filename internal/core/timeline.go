package core

import (
	"cmp"
	"context"
	"iter"
	"math"
	"slices"
)

// Default window bounds of Timeline: a window holding more rows or bytes
// (names plus values) than these is read again in halves.
const (
	TimelineWindowRows  = 10_000
	TimelineWindowBytes = 16 << 20
)

// timelineWindowKey is the context key of WithTimelineWindow.
type timelineWindowKey struct{}

// timelineWindow is a window bound carried by a context.
type timelineWindow struct{ rows, bytes int }

// WithTimelineWindow returns ctx carrying window bounds for the Timeline
// streams run with it, in place of the defaults: how rechisthttp applies
// its configured bounds, and how tests force many small windows. Bounds
// below 1 keep the default.
func WithTimelineWindow(ctx context.Context, rows, bytes int) context.Context {
	return context.WithValue(ctx, timelineWindowKey{}, timelineWindow{rows, bytes})
}

// timelineBounds returns the window bounds ctx carries, or the defaults.
func timelineBounds(ctx context.Context) (rows, bytes int) {
	rows, bytes = TimelineWindowRows, TimelineWindowBytes
	if w, ok := ctx.Value(timelineWindowKey{}).(timelineWindow); ok {
		if w.rows > 0 {
			rows = w.rows
		}
		if w.bytes > 0 {
			bytes = w.bytes
		}
	}
	return rows, bytes
}

// timelineCut is where one record's newest limit rows begin: its oldest
// included time, and how many rows at that time are included (the newest
// stores among the rows of that millisecond).
type timelineCut struct {
	ms   int64
	ties int
	left int64 // rows still to emit, so the limit holds even against rows stored meanwhile
}

// Timeline streams the rows of the records pattern matches within r in
// time order: stored_at ascending, then name bytewise, then insert order.
// r.LimitPerRecord keeps each record's newest rows (0: all of them), still
// emitted oldest first. Memory is bounded by one window of rows (see
// WithTimelineWindow for the bounds) and by an entry a record:
//
//  1. A first pass over each record's newest rows (firstPass), at most
//     the per-record limit (at least 1), finds the newest row in range
//     (the stream's last time) and, with a limit, each record's cutoff.
//     It keeps an entry a record (with one row a record, the rows too,
//     read in one statement). With a limit it keeps the rows it reads
//     while they fit one window: they are the whole stream (the newest
//     value of every record, the dashboard's list, costs what
//     QueryLatest does), sorted and emitted with no second pass.
//  2. Otherwise the time range is read in windows of ascending time, each
//     one All snapshot of its own; a window's rows are sorted and emitted. A
//     window that would hold more rows or bytes than the bounds is given
//     up and halved; a window with few rows doubles the next one, so empty
//     stretches of time cost a few queries. Only a single millisecond
//     holding more rows than the bound is kept whole.
//
// Rows stored while the stream runs may or may not appear; the limit
// still holds. An error is yielded once, last.
func (db *DB) Timeline(ctx context.Context, pattern string, r Range) iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		if err := db.timeline(ctx, pattern, r, yield); err != nil {
			yield(Row{}, err)
		}
	}
}

// timeline runs Timeline, calling yield for each row; it returns the error
// to yield last, or nil (also when yield stopped the stream).
func (db *DB) timeline(ctx context.Context, pattern string, r Range, yield func(Row, error) bool) error {
	const op = "query"
	if err := r.check(op); err != nil {
		return err
	}
	if r.OldestFirst && r.LimitPerRecord > 0 {
		// A timeline is in time order already; what OldestFirst would
		// change is which rows a limit keeps, and it keeps the newest.
		return Invalidf(op, "a timeline's LimitPerRecord keeps each record's newest rows: OldestFirst with a limit is not supported")
	}
	r.OldestFirst = false // the windows below read each record newest first
	maxRows, maxBytes := timelineBounds(ctx)
	limit := r.LimitPerRecord
	first := r
	first.LimitPerRecord = max(limit, 1)
	cuts := map[string]*timelineCut{}
	lo, hi := int64(math.MaxInt64), int64(-1)
	// With a limit, the first pass reads the very rows to stream: they are
	// kept while they fit one window, and then need no second pass.
	var kept []timelineItem
	keptBytes, keep := 0, limit > 0
	for row, err := range db.firstPass(ctx, pattern, first) {
		if err != nil {
			return err
		}
		ms := row.StoredAt
		hi = max(hi, ms)
		if limit == 0 {
			continue
		}
		if keep {
			kept = append(kept, timelineItem{row, len(kept)})
			keptBytes += len(row.ValueJSON) + len(row.Name)
			if len(kept) > maxRows || keptBytes > maxBytes {
				keep, kept = false, nil
			}
		}
		c := cuts[row.Name]
		switch {
		case c == nil:
			cuts[row.Name] = &timelineCut{ms: ms, ties: 1, left: limit}
		case c.ms == ms:
			c.ties++
		default:
			c.ms, c.ties = ms, 1
		}
	}
	if hi < 0 {
		return nil
	}
	if keep {
		sortTimeline(kept)
		for _, it := range kept {
			if !yield(it.Row, nil) {
				return nil
			}
		}
		return ctx.Err()
	}
	if limit > 0 {
		for _, c := range cuts {
			lo = min(lo, c.ms)
		}
	} else {
		lo = max(r.StartMs, 0)
	}

	width := max(1, (hi-lo)/64+1)
	var buf []timelineItem
	for lo <= hi {
		end := hi
		if width-1 < hi-lo {
			end = lo + width - 1
		}
		buf = buf[:0]
		bytes, full := 0, false
		seen := map[string]int{} // rows at the cutoff time taken so far, per record
		if timelineWindowRead != nil {
			timelineWindowRead()
		}
		for row, err := range db.All(ctx, pattern, Range{StartMs: lo, EndMs: end}) {
			if err != nil {
				return err
			}
			ms := row.StoredAt
			if limit > 0 {
				c := cuts[row.Name]
				if c == nil || ms < c.ms {
					continue // a record that was not there, or rows older than its newest limit
				}
				if ms == c.ms {
					if seen[row.Name] == c.ties {
						continue // rows of the cutoff millisecond stored before the newest ties
					}
					seen[row.Name]++
				}
			}
			buf = append(buf, timelineItem{row, len(buf)})
			bytes += len(row.ValueJSON) + len(row.Name)
			if (len(buf) > maxRows || bytes > maxBytes) && end > lo {
				full = true
				break
			}
		}
		if full {
			width = max(1, (end-lo+1)/2)
			continue
		}
		sortTimeline(buf)
		for _, it := range buf {
			if limit > 0 {
				c := cuts[it.Name]
				if c.left == 0 {
					continue
				}
				c.left--
			}
			if !yield(it.Row, nil) {
				return nil
			}
		}
		if len(buf) <= maxRows/2 && width < math.MaxInt64/2 {
			width *= 2
		}
		if end == hi {
			break
		}
		lo = end + 1
	}
	return ctx.Err()
}

// firstPass yields Timeline's first pass: each record's newest r.LimitPerRecord
// rows. With one row a record, a wildcard pattern is one statement
// (Query, as QueryLatest reads it: 4 ms for 1,000 records against 36 ms
// one record at a time), holding a row a record, as the pass's cuts hold
// an entry a record; more rows a record are streamed record by record
// (All), so memory does not grow with them.
func (db *DB) firstPass(ctx context.Context, pattern string, r Range) iter.Seq2[Row, error] {
	if r.LimitPerRecord != 1 || db.cfg.TopicPatterns {
		return db.All(ctx, pattern, r)
	}
	return func(yield func(Row, error) bool) {
		rows, err := db.Query(ctx, pattern, r)
		if err != nil {
			yield(Row{}, err)
			return
		}
		for _, row := range rows {
			if !yield(row, nil) {
				return
			}
		}
	}
}

// timelineItem is a row of a Timeline window with its place in what All
// yielded.
type timelineItem struct {
	Row
	seq int
}

// sortTimeline sorts rows All yielded into Timeline's order. Within a
// record, All yields the later store first among equal times (with a
// limit too): a higher seq is an earlier store.
func sortTimeline(items []timelineItem) {
	slices.SortFunc(items, func(a, b timelineItem) int {
		return cmp.Or(cmp.Compare(a.StoredAt, b.StoredAt), cmp.Compare(a.Name, b.Name), cmp.Compare(b.seq, a.seq))
	})
}

// timelineWindowRead, when set (tests), is called before each window's
// read.
var timelineWindowRead func()
