package core

import (
	"context"
	"errors"
	"iter"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrNotFound is returned by Latest for a record without rows.
var ErrNotFound = errors.New("record not found")

// AggSpec is a checked aggregation.
type AggSpec struct {
	// Path is the field's path of object keys; empty means the value
	// itself.
	Path           []string
	EveryMs        int64
	StartMs, EndMs int64
	// Loc aligns the buckets to local time there (zone.go); nil or UTC:
	// to the Unix epoch.
	Loc *time.Location
}

// Bucket is one bucket of an aggregation.
type Bucket struct {
	StartMs                          int64
	Count                            int64
	Min, Max, Sum, First, Last, Mean float64
}

// namesPage is how many names a pattern's walk reads at a time.
const namesPage = 512

// matchingNames calls fn with each record name that p matches, in
// bytewise order, within rd's snapshot; fn returning false stops. Names
// reads the names with p's prefix; Match tests each.
func matchingNames(ctx context.Context, rd Reader, p Pattern, fn func(string) (bool, error)) error {
	after := ""
	for {
		names, err := rd.Names(ctx, p, after, namesPage)
		if err != nil {
			return err
		}
		for _, n := range names {
			if !p.Match(n) {
				continue
			}
			if more, err := fn(n); err != nil || !more {
				return err
			}
		}
		if len(names) < namesPage {
			return nil
		}
		after = names[len(names)-1]
	}
}

// matchingNamesWithTiers is matchingNames over the records with rows and
// those with tiers (whose raw rows may all be gone), each name once.
func matchingNamesWithTiers(ctx context.Context, rd Reader, p Pattern, fn func(string) (bool, error)) error {
	return mergedNames(p,
		func(after string) ([]string, error) { return rd.Names(ctx, p, after, namesPage) },
		func(after string) ([]string, error) { return rd.TierNames(ctx, p, after, namesPage) },
		fn)
}

// mergedNames calls fn with each name p matches of two sources of names
// (pages of namesPage, bytewise ascending), in order, each name once.
func mergedNames(p Pattern, pageA, pageB func(after string) ([]string, error), fn func(string) (bool, error)) error {
	self := func(s string) string { return s }
	return mergeSorted(p, &pager[string]{next: pageA, name: self}, &pager[string]{next: pageB, name: self},
		func(name string, _, _ *string) (bool, error) { return fn(name) })
}

// pager reads a source of items in bytewise order of their names, a page
// of namesPage at a time.
type pager[T any] struct {
	next  func(after string) ([]T, error)
	name  func(T) string
	buf   []T
	after string
	done  bool
}

// head returns the source's next item, reading a page when needed; nil at
// its end.
func (pg *pager[T]) head() (*T, error) {
	if len(pg.buf) == 0 && !pg.done {
		page, err := pg.next(pg.after)
		if err != nil {
			return nil, err
		}
		pg.buf, pg.done = page, len(page) < namesPage
		if len(page) > 0 {
			pg.after = pg.name(page[len(page)-1])
		}
	}
	if len(pg.buf) == 0 {
		return nil, nil
	}
	return &pg.buf[0], nil
}

// mergeSorted calls fn with each name p matches of two sources, in order,
// each name once, with its item from each source (nil where that source
// lacks it).
func mergeSorted[A, B any](p Pattern, a *pager[A], b *pager[B], fn func(name string, x *A, y *B) (bool, error)) error {
	for {
		x, err := a.head()
		if err != nil {
			return err
		}
		y, err := b.head()
		if err != nil {
			return err
		}
		var name string
		switch {
		case x == nil && y == nil:
			return nil
		case y == nil || x != nil && a.name(*x) < b.name(*y):
			name, y = a.name(*x), nil
			a.buf = a.buf[1:]
		case x == nil || b.name(*y) < a.name(*x):
			name, x = b.name(*y), nil
			b.buf = b.buf[1:]
		default: // the same name in both
			name = a.name(*x)
			a.buf, b.buf = a.buf[1:], b.buf[1:]
		}
		if !p.Match(name) {
			continue
		}
		if more, err := fn(name, x, y); err != nil || !more {
			return err
		}
	}
}

// compile compiles pattern in the DB's language.
func (db *DB) compile(op, pattern string) (Pattern, error) {
	if db.cfg.TopicPatterns {
		return CompileTopicPattern(op, pattern)
	}
	return CompilePattern(op, pattern)
}

// read runs fn in one snapshot of the engine.
func (db *DB) read(ctx context.Context, op string, fn func(Reader) error) error {
	if db.closed.Load() {
		return Wrap(op, ErrClosed, nil)
	}
	return db.readError(op, db.eng.Read(ctx, fn))
}

// readOne runs fn with the engine's Reader, outside a transaction: for a
// read of one statement, which is a snapshot of its own.
func (db *DB) readOne(op string, fn func(Reader) error) error {
	if db.closed.Load() {
		return Wrap(op, ErrClosed, nil)
	}
	return db.readError(op, fn(db.eng.Reader()))
}

// All streams the rows Query would return, in the same order, with memory
// independent of their number. An error is yielded once, last.
func (db *DB) All(ctx context.Context, pattern string, r Range) iter.Seq2[Row, error] {
	const op = "query"
	return func(yield func(Row, error) bool) {
		p, err := db.compile(op, pattern)
		if err == nil {
			err = r.check(op)
		}
		if err != nil {
			yield(Row{}, err)
			return
		}
		stopped := false
		err = db.read(ctx, op, func(rd Reader) error {
			return matchingNames(ctx, rd, p, func(name string) (bool, error) {
				err := rd.Rows(ctx, name, r, func(row Row) bool {
					if !yield(row, nil) {
						stopped = true
					}
					return !stopped
				})
				return !stopped, err
			})
		})
		if err != nil && !stopped {
			yield(Row{}, err)
		}
	}
}

// Latest returns the newest row of the record named name; ErrNotFound if
// it has none.
func (db *DB) Latest(ctx context.Context, name string) (Row, error) {
	const op = "latest"
	if _, err := ExactPattern(op, name); err != nil {
		return Row{}, err
	}
	var out Row
	found := false
	err := db.readOne(op, func(rd Reader) error {
		return rd.Rows(ctx, name, Range{StartMs: 0, EndMs: Unbounded.EndMs, LimitPerRecord: 1}, func(row Row) bool {
			out, found = row, true
			return false
		})
	})
	if err == nil && !found {
		err = Wrap(op, ErrNotFound, nil)
	}
	return out, err
}

// RecordInfo describes one record: its raw rows (Rows), the times of the
// oldest and newest row its history holds, raw or rolled up into a tier,
// its tiers' widths, and the numeric fields of its tiers' newest blocks.
type RecordInfo struct {
	Name            string
	Rows            int64
	FirstMs, LastMs int64
	TierMs          []int64
	Fields          [][]string
}

// Names lists the names of the records pattern matches, by name: those
// with raw rows and those whose history is left in tiers only.
func (db *DB) Names(ctx context.Context, pattern string) ([]string, error) {
	const op = "names"
	p, err := db.compile(op, pattern)
	if err != nil {
		return nil, err
	}
	var out []string
	err = db.read(ctx, op, func(rd Reader) error {
		return matchingNamesWithTiers(ctx, rd, p, func(name string) (bool, error) {
			out = append(out, name)
			return true, nil
		})
	})
	return out, err
}

// TierUsage lists what each record's tiers store, by name and width.
func (db *DB) TierUsage(ctx context.Context) ([]TierUsage, error) {
	var out []TierUsage
	err := db.read(ctx, "tier usage", func(rd Reader) (err error) {
		out, err = rd.TierUsage(ctx)
		return err
	})
	return out, err
}

// Records lists the records pattern matches, by name.
func (db *DB) Records(ctx context.Context, pattern string) ([]RecordInfo, error) {
	const op = "records"
	p, err := db.compile(op, pattern)
	if err != nil {
		return nil, err
	}
	var out []RecordInfo
	err = db.read(ctx, op, func(rd Reader) error {
		stats := &pager[RecordStat]{
			next: func(after string) ([]RecordStat, error) { return rd.RecordStats(ctx, p, after, namesPage) },
			name: func(s RecordStat) string { return s.Name },
		}
		tiered := &pager[string]{
			next: func(after string) ([]string, error) { return rd.TierNames(ctx, p, after, namesPage) },
			name: func(s string) string { return s },
		}
		return mergeSorted(p, stats, tiered, func(name string, st *RecordStat, inTiers *string) (bool, error) {
			info := RecordInfo{Name: name}
			if st != nil {
				info.Rows, info.FirstMs, info.LastMs = st.Rows, st.FirstMs, st.LastMs
			}
			held := false
			if inTiers != nil {
				var err error
				if held, err = addTierInfo(ctx, rd, &info); err != nil {
					return false, err
				}
			}
			if info.Rows > 0 || held {
				out = append(out, info)
			}
			return true, nil
		})
	})
	return out, err
}

// RecordStat is one record's raw rows: their number and the times of the
// oldest and newest (Reader.RecordStats).
type RecordStat struct {
	Name            string
	Rows            int64
	FirstMs, LastMs int64
}

// StatsByWalk is Reader.RecordStats for a schema without the names table:
// Names, then Info for each name (which counts its rows).
func StatsByWalk(ctx context.Context, rd Reader, p Pattern, after string, limit int) ([]RecordStat, error) {
	names, err := rd.Names(ctx, p, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]RecordStat, 0, len(names))
	for _, n := range names {
		st := RecordStat{Name: n}
		if st.Rows, st.FirstMs, st.LastMs, err = rd.Info(ctx, n); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// addTierInfo adds what the record's tiers hold to info: their widths,
// the fields of the newest block, and the times of the oldest and newest
// row they summarise where the raw rows do not reach (the blocks keep
// those rows' times exactly). It reports whether the tiers hold a row.
func addTierInfo(ctx context.Context, rd Reader, info *RecordInfo) (bool, error) {
	widths, err := rd.TierWidths(ctx, info.Name)
	if err != nil || len(widths) == 0 {
		return false, err
	}
	info.TierMs = widths
	held := false
	for _, w := range widths {
		oldest, newest, ok, err := rd.EdgeBlocks(ctx, info.Name, w)
		if err != nil {
			return false, err
		}
		if !ok {
			continue
		}
		first, _, err := blockEdge(oldest, true)
		if err != nil {
			return false, err
		}
		last, nb, err := blockEdge(newest, false)
		if err != nil {
			return false, err
		}
		paths, err := nb.fieldPaths()
		if err != nil {
			return false, err
		}
		for _, p := range paths {
			if !slices.ContainsFunc(info.Fields, func(q []string) bool { return slices.Equal(p, q) }) {
				info.Fields = append(info.Fields, p)
			}
		}
		if info.Rows == 0 && !held || first.Ms < info.FirstMs {
			info.FirstMs = first.Ms
		}
		if info.Rows == 0 && !held || last.Ms > info.LastMs {
			info.LastMs = last.Ms
		}
		held = true
	}
	slices.SortFunc(info.Fields, slices.Compare[[]string])
	return held, nil
}

// blockEdge returns the oldest row of the block's first bucket (first) or
// the newest of its last, with the decoded block.
func blockEdge(raw TierBlock, first bool) (RowRef, *block, error) {
	b, err := decodeBlock(raw.BlockMs, raw.EveryMs, raw.Data)
	if err != nil {
		return RowRef{}, nil, err
	}
	for i := range blockBuckets {
		slot := i
		if !first {
			slot = blockBuckets - 1 - i
		}
		if b.slots[slot] == nil {
			continue
		}
		st, err := b.state(slot)
		if first {
			return st.First, b, err
		}
		return st.Last, b, err
	}
	return RowRef{}, nil, errBlockDamaged // a stored block has a bucket
}

// Series is one record's buckets.
type Series struct {
	Name    string
	Buckets []Bucket
	// TierMs is the width of the rollup tier whose buckets served the
	// whole buckets of the range (merged with raw rows for the rest); 0
	// when raw rows alone did.
	TierMs int64
}

// Aggregate summarises a numeric field of the records pattern matches.
func (db *DB) Aggregate(ctx context.Context, pattern string, a AggSpec) ([]Series, error) {
	const op = "aggregate"
	p, err := db.compile(op, pattern)
	if err != nil {
		return nil, err
	}
	switch {
	case a.EveryMs < 1:
		return nil, Invalidf(op, "every must be at least 1 ms, got %d ms", a.EveryMs)
	case a.StartMs > a.EndMs:
		return nil, Invalidf(op, "start %d ms is after end %d ms", a.StartMs, a.EndMs)
	}
	if isUTC(a.Loc) { // once, not per record: it walks the zone's rules
		a.Loc = nil
	}
	for _, k := range a.Path {
		switch {
		case k == "":
			return nil, Invalidf(op, "field path has an empty segment")
		case strings.ContainsAny(k, "\"\\\x00") || !utf8.ValidString(k):
			return nil, Invalidf(op, "field path segment %q holds a quote, a backslash, a NUL or invalid UTF-8", k)
		}
	}
	var out []Series
	err = db.read(ctx, op, func(rd Reader) error {
		return matchingNamesWithTiers(ctx, rd, p, func(name string) (bool, error) {
			b, tier, err := aggregateRecord(ctx, rd, op, name, a)
			if err == nil && len(b) > 0 {
				out = append(out, Series{Name: name, Buckets: b, TierMs: tier})
			}
			return true, err
		})
	})
	return out, err
}

// Delete deletes the rows of the records pattern matches within
// [r.StartMs, r.EndMs], in chunks like Cleanup, and returns how many.
func (db *DB) Delete(ctx context.Context, pattern string, r Range) (int64, error) {
	const op = "delete"
	p, err := db.compile(op, pattern)
	if err != nil {
		return 0, err
	}
	if r.LimitPerRecord != 0 {
		return 0, Invalidf(op, "LimitPerRecord must be 0, got %d", r.LimitPerRecord)
	}
	r.OldestFirst = false // a delete's order does not matter
	if err := r.check(op); err != nil {
		return 0, err
	}
	if err := db.writable(op); err != nil {
		return 0, err
	}
	var names []string
	if err := db.read(ctx, op, func(rd Reader) error {
		return matchingNamesWithTiers(ctx, rd, p, func(name string) (bool, error) {
			names = append(names, name)
			return true, nil
		})
	}); err != nil {
		return 0, err
	}
	var total int64
	for _, name := range names {
		var widths []int64
		if err := db.readOne(op, func(rd Reader) (err error) {
			widths, err = rd.TierWidths(ctx, name)
			return err
		}); err != nil {
			return total, err
		}
		var n int64
		if len(widths) > 0 {
			n, err = db.deleteWithTiers(ctx, name, r)
		} else {
			n, err = db.w.deleteRange(ctx, name, r)
		}
		total += n
		if err != nil {
			return total, Wrap(op, err, db.eng.Classify)
		}
	}
	return total, nil
}
