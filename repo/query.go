package repo

import (
	"context"
	"math"

	"github.com/seed178a96f3/rechist/db"
)

// Range selects rows for Query.
type Range struct {
	// StartMs and EndMs bound stored_at, both inclusive.
	StartMs, EndMs int64
	// LimitPerRecord keeps only the newest rows of each record; 0 means all.
	LimitPerRecord int64
}

// Unbounded is the Range that selects every row.
var Unbounded = Range{StartMs: math.MinInt64, EndMs: math.MaxInt64}

// Query returns the rows whose record name matches pattern (see pattern for
// the language) within r, ordered by record name (bytewise ascending), then
// newest first, the later insert first among equal times.
//
// Reads run on the read-only pool and see the last committed state; they
// never wait for the writer.
func (e *Engine) Query(ctx context.Context, pat string, r Range) ([]Row, error) {
	const op = "query"
	p, err := compilePattern(op, pat)
	if err != nil {
		return nil, err
	}
	switch {
	case r.LimitPerRecord < 0:
		return nil, Invalidf(op, "limit per record must not be negative, got %d", r.LimitPerRecord)
	case r.StartMs > r.EndMs:
		return nil, Invalidf(op, "start %d ms is after end %d ms", r.StartMs, r.EndMs)
	}
	if e.closed.Load() {
		return nil, ErrClosed
	}
	limit := r.LimitPerRecord
	if limit == 0 {
		limit = -1 // SQLite: no limit
	}
	got, err := e.readQ.QueryLatestWalk(ctx, db.QueryLatestWalkParams{
		Lo: p.lo, Hi: p.hi, Pattern: p.glob,
		StartMs: r.StartMs, EndMs: r.EndMs, LimitPerRecord: limit,
	})
	if err != nil {
		if e.closed.Load() {
			return nil, ErrClosed
		}
		return nil, opError(op, err)
	}
	rows := make([]Row, len(got))
	for i, g := range got {
		rows[i] = Row{ID: g.ID, Name: g.RecordName, ValueJSON: g.ValueJson, StoredAt: g.StoredAt}
	}
	return rows, nil
}
