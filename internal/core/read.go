package core

import (
	"context"
	"errors"
	"iter"
	"strings"
	"unicode/utf8"
)

// ErrNotFound is returned by Latest for a record without rows.
var ErrNotFound = errors.New("record not found")

// Reader reads one consistent snapshot of the database, one record at a
// time: what All, Latest, Records, Aggregate and Delete are built on, for
// both pattern languages (names are tested in Go with Pattern.Match).
type Reader interface {
	// Names returns up to limit distinct record names in [p.Lo, p.Hi)
	// (the engine may narrow the range further with the pattern's literal
	// prefix), in bytewise order, greater than after (all when after is
	// ""). Names the pattern does not match may be among them.
	Names(ctx context.Context, p Pattern, after string, limit int) ([]string, error)
	// Rows streams the rows of the record name within r, newest first,
	// the later insert first among equal times, at most r.LimitPerRecord
	// when positive; it stops when yield returns false.
	Rows(ctx context.Context, name string, r Range, yield func(Row) bool) error
	// Info counts the record's rows and reads its first and last times.
	Info(ctx context.Context, name string) (rows, firstMs, lastMs int64, err error)
	// Aggregate summarises a numeric field of the record's values in
	// buckets of a.EveryMs within [a.StartMs, a.EndMs], ascending; empty
	// buckets are left out.
	Aggregate(ctx context.Context, name string, a AggSpec) ([]Bucket, error)
	// ChangesAfter streams up to limit rows with an id above after,
	// ascending by id, whatever their names; it stops when yield returns
	// false.
	ChangesAfter(ctx context.Context, after int64, limit int, yield func(Row) bool) error
	// LastID returns the highest row id (0 when there are no rows).
	LastID(ctx context.Context) (int64, error)
	// IDHighWater returns the highest row id ever handed out, which
	// deleting rows does not lower.
	IDHighWater(ctx context.Context) (int64, error)
	// SourceID returns the database's identity as a sync source;
	// ErrNoSourceID when its schema has none.
	SourceID(ctx context.Context) (string, error)
	// SyncCursor returns the cursor of the sync source id; the zero
	// SyncCursor when it has none.
	SyncCursor(ctx context.Context, id string) (SyncCursor, error)
	// SyncEpoch returns the token of the epoch of the database's row ids
	// that holds id (see WritesRows); "" when id predates every epoch or
	// the schema has none.
	SyncEpoch(ctx context.Context, id int64) (string, error)
}

// Snapshotter is implemented by an engine that can read: Read runs fn in
// one read-only snapshot and releases it when fn returns.
type Snapshotter interface {
	Read(ctx context.Context, fn func(Reader) error) error
}

// AggSpec is a checked aggregation.
type AggSpec struct {
	// Path is the field's path of object keys; empty means the value
	// itself.
	Path           []string
	EveryMs        int64
	StartMs, EndMs int64
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
// bytewise order, within rd's snapshot; fn returning false stops.
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
	s, ok := db.eng.(Snapshotter)
	if !ok {
		return Wrap(op, errors.ErrUnsupported, nil)
	}
	return db.readError(op, s.Read(ctx, fn))
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
	err := db.read(ctx, op, func(rd Reader) error {
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

// RecordInfo describes one record.
type RecordInfo struct {
	Name            string
	Rows            int64
	FirstMs, LastMs int64
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
		return matchingNames(ctx, rd, p, func(name string) (bool, error) {
			n, first, last, err := rd.Info(ctx, name)
			if err == nil && n > 0 {
				out = append(out, RecordInfo{Name: name, Rows: n, FirstMs: first, LastMs: last})
			}
			return true, err
		})
	})
	return out, err
}

// Series is one record's buckets.
type Series struct {
	Name    string
	Buckets []Bucket
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
		return matchingNames(ctx, rd, p, func(name string) (bool, error) {
			b, err := rd.Aggregate(ctx, name, a)
			if err == nil && len(b) > 0 {
				out = append(out, Series{Name: name, Buckets: b})
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
	if err := r.check(op); err != nil {
		return 0, err
	}
	if err := db.writable(op); err != nil {
		return 0, err
	}
	var names []string
	if err := db.read(ctx, op, func(rd Reader) error {
		return matchingNames(ctx, rd, p, func(name string) (bool, error) {
			names = append(names, name)
			return true, nil
		})
	}); err != nil {
		return 0, err
	}
	var total int64
	for _, name := range names {
		n, err := db.w.deleteRange(ctx, name, r)
		total += n
		if err != nil {
			return total, Wrap(op, err, db.eng.Classify)
		}
	}
	return total, nil
}
