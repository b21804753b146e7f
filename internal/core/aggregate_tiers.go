package core

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/seed178a96f3/rechist/internal/jsonpath"
)

// aggregateRecord answers one record's aggregation from the coarsest data
// that gives the exact answer: the buckets of its coarsest tier whose
// width divides a.EveryMs, for the whole tier buckets within the range
// from where that tier is complete, merged with the raw rows of the rest
// (the range's ragged ends, and the rows not rolled up yet); the raw rows
// alone (the engine's Reader.Aggregate) where no tier serves. Both give
// the same buckets to the bit (RollupState and DecimalSum are exact). It
// returns the tier width it used (0: raw rows only).
//
// Where retention deleted raw rows the range needs and no tier serves, it
// fails with ErrInvalidArgument naming the widths that do.
func aggregateRecord(ctx context.Context, rd Reader, op, name string, a AggSpec) ([]Bucket, int64, error) {
	widths, err := rd.TierWidths(ctx, name)
	if err != nil {
		return nil, 0, err
	}
	h, err := rd.Horizon(ctx, name)
	if err != nil {
		return nil, 0, err
	}
	cursor, ok, err := rd.RollupCursor(ctx)
	if err != nil {
		return nil, 0, err
	}
	loc := a.Loc // nil: buckets of the epoch (Aggregate makes a zone that is UTC nil)
	zone := loc != nil
	var w int64
	for _, x := range widths { // ascending: the last that divides is the coarsest
		if a.EveryMs%x == 0 && (!zone || zoneAligned(loc, a.StartMs, a.EndMs, x)) {
			w = x
		}
	}
	acc := aggAcc{every: a.EveryMs, loc: loc}
	// raw is the raw rows' aggregation where no tier serves: in the
	// database, or, for buckets of a time zone, folded here row by row.
	raw := func() ([]Bucket, int64, error) {
		if !zone {
			b, err := rd.Aggregate(ctx, name, a)
			return b, 0, err
		}
		err := rd.RowsAbove(ctx, name, Range{StartMs: a.StartMs, EndMs: a.EndMs}, math.MinInt64, acc.row(a.Path))
		return acc.buckets(), 0, err
	}
	gone := func(fromMs int64) error { // raw rows before h are needed from fromMs on
		if h == 0 || fromMs >= h {
			return nil
		}
		if zone && w == 0 && slices.ContainsFunc(widths, func(x int64) bool { return a.EveryMs%x == 0 }) {
			return Invalidf(op, "the raw rows of %q before %s are gone, and its tiers' buckets do not each fall within one bucket of %s (its UTC offsets, or the times they change, are not whole tier buckets): aggregate in UTC",
				name, time.UnixMilli(h).UTC().Format(time.RFC3339), loc)
		}
		return tiersNeeded(op, name, h, widths)
	}
	if !ok || w == 0 {
		if err := gone(a.StartMs); err != nil {
			return nil, 0, err
		}
		return raw()
	}
	from, _, err := rd.TierFrom(ctx, name, w)
	if err != nil {
		return nil, 0, err
	}
	// [ts, te]: the whole buckets of width w within the range, from where
	// the tier is complete.
	ts := bucketStart(max(a.StartMs, from), w)
	if ts < max(a.StartMs, from) {
		ts += w
	}
	e := bucketStart(a.EndMs, w)
	te := e - 1
	if e <= math.MaxInt64-w+1 && e+w-1 == a.EndMs {
		te = a.EndMs
	}
	if ts > te {
		if err := gone(a.StartMs); err != nil {
			return nil, 0, err
		}
		return raw()
	}
	if ts > a.StartMs {
		if err := gone(a.StartMs); err != nil {
			return nil, 0, err
		}
	}
	last := te - w + 1 // the last whole bucket's start
	bs, err := rd.Blocks(ctx, name, w, blockStart(ts, w), blockStart(last, w))
	if err != nil {
		return nil, 0, err
	}
	for _, raw := range bs {
		b, err := decodeBlock(raw.BlockMs, w, raw.Data)
		if err == nil {
			err = b.foldField(a.Path, ts, last, func(at int64, f Field) { acc.field(at).merge(f) })
		}
		if err != nil {
			return nil, 0, err
		}
	}
	rows := func(r Range, afterID int64) error {
		if r.StartMs > r.EndMs {
			return nil
		}
		return rd.RowsAbove(ctx, name, r, afterID, acc.row(a.Path))
	}
	if err := rows(Range{StartMs: a.StartMs, EndMs: ts - 1}, math.MinInt64); err != nil {
		return nil, 0, err
	}
	if err := rows(Range{StartMs: ts, EndMs: te}, cursor); err != nil {
		return nil, 0, err
	}
	if te < a.EndMs {
		if err := rows(Range{StartMs: te + 1, EndMs: a.EndMs}, math.MinInt64); err != nil {
			return nil, 0, err
		}
	}
	return acc.buckets(), w, nil
}

// tiersNeeded is the error of an aggregation that needs raw rows
// retention deleted.
func tiersNeeded(op, name string, h int64, widths []int64) error {
	if len(widths) == 0 {
		return Invalidf(op, "the raw rows of %q before %s are gone and it has no rollup tiers", name, time.UnixMilli(h).UTC().Format(time.RFC3339))
	}
	ws := make([]string, len(widths))
	for i, w := range widths {
		ws[i] = (time.Duration(w) * time.Millisecond).String()
	}
	return Invalidf(op, "the raw rows of %q before %s are gone: it keeps buckets of %s, so every must be a multiple of %s and start at a whole bucket",
		name, time.UnixMilli(h).UTC().Format(time.RFC3339), strings.Join(ws, ", "), ws[0])
}

// aggAcc gathers output buckets of one record.
type aggAcc struct {
	every int64
	loc   *time.Location   // buckets aligned to local time there (not UTC); nil: to the epoch
	order []int64          // bucket starts, as first met
	by    map[int64]*Field // by bucket start
}

func (a *aggAcc) field(ms int64) *Field {
	b := bucketStart(ms, a.every)
	if a.loc != nil {
		b = zoneBucket(a.loc, a.every, ms)
	}
	if a.by == nil {
		a.by = map[int64]*Field{}
	}
	f := a.by[b]
	if f == nil {
		f = &Field{}
		a.by[b] = f
		a.order = append(a.order, b)
	}
	return f
}

// row is a RowsAbove callback that adds each row's number at path.
func (a *aggAcc) row(path []string) func(Row) bool {
	return func(row Row) bool {
		if x, ok := jsonpath.Number(row.ValueJSON, path); ok {
			if x == 0 {
				x = 0 // -0 counts as +0
			}
			n := NumRef{Ms: row.StoredAt, ID: row.ID, X: x}
			f := a.field(row.StoredAt)
			f.combine(1, x, x, n, n)
			f.Sum.Add(x)
		}
		return true
	}
}

// merge adds o's numbers.
func (f *Field) merge(o Field) {
	if o.N == 0 {
		return
	}
	f.combine(o.N, o.Min, o.Max, o.First, o.Last)
	f.Sum.Merge(o.Sum)
}

func (a *aggAcc) buckets() []Bucket {
	slices.Sort(a.order)
	out := make([]Bucket, 0, len(a.order))
	for _, b := range a.order {
		f := a.by[b]
		out = append(out, Bucket{StartMs: b, Count: f.N, Min: f.Min, Max: f.Max, Sum: f.Sum.Sum(),
			Mean: f.Sum.Mean(f.N), First: f.First.X, Last: f.Last.X})
	}
	return out
}
