package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/postgres/internal/db"
)

// Query returns the matching rows within r in result order: record name
// (bytewise), newest first, the later insert first among equal times.
// Names are tested in SQL (likeFilter), or in Go where LIKE cannot express
// p: the walk takes each name's rows apart, so dropping a name's rows
// afterwards is the same as skipping the name.
func (rd *reader) Query(ctx context.Context, p core.Pattern, r core.Range) ([]core.Row, error) {
	var got []db.RecordHistory
	var err error
	complete := true // the SQL tested the names (likeFilter)
	if p.MatchesAll && r.LimitPerRecord == 0 {
		got, err = rd.q.QueryTimeRange(ctx, db.QueryTimeRangeParams{StartMs: r.StartMs, EndMs: r.EndMs})
	} else {
		var like string
		like, complete = likeFilter(p)
		hi, bounded := upperBound(p)
		limit := pgtype.Int8{Int64: r.LimitPerRecord, Valid: r.LimitPerRecord > 0}
		switch {
		case rd.widthMs > 0 && r.LimitPerRecord > 0 && p.Exact:
			err = rd.rowsPartitioned(ctx, p.Prefix, r, func(row core.Row) bool {
				got = append(got, db.RecordHistory{ID: row.ID, RecordName: row.Name, ValueJson: row.ValueJSON, StoredAt: row.StoredAt})
				return true
			})
		case rd.widthMs > 0 && r.LimitPerRecord > 0:
			got, err = rd.latestPartitioned(ctx, p, like, complete, r)
			complete = true
		case rd.names:
			got, err = rd.latestNamed(ctx, p, like, r)
		case bounded:
			got, err = rd.q.QueryLatestWalk(ctx, db.QueryLatestWalkParams{
				Lo: p.Prefix, Hi: hi, LikePattern: like,
				StartMs: r.StartMs, EndMs: r.EndMs, LimitPerRecord: limit,
			})
		default:
			got, err = rd.q.QueryLatestWalkOpen(ctx, db.QueryLatestWalkOpenParams{
				Lo: p.Prefix, LikePattern: like,
				StartMs: r.StartMs, EndMs: r.EndMs, LimitPerRecord: limit,
			})
		}
	}
	if err != nil {
		return nil, err
	}
	rows := make([]core.Row, 0, len(got))
	for _, g := range got {
		if complete || p.Match(g.RecordName) {
			rows = append(rows, core.Row{ID: g.ID, Name: g.RecordName, ValueJSON: g.ValueJson, StoredAt: g.StoredAt})
		}
	}
	return rows, nil
}

// Summary counts rows and records, the time span and the table's size on
// disk (FileBytes; WALBytes is zero), and lists the top records by rows:
// from the names table, a row a record; in a schema that predates it, by
// reading every row.
func (e *engine) Summary(ctx context.Context, top int) (core.Summary, error) {
	var s core.Summary
	var err error
	if s.FileBytes, err = e.q.TableBytes(ctx); err != nil {
		return s, err
	}
	if s.PartitionWidthMs = e.parts.width(); s.PartitionWidthMs > 0 {
		starts, err := e.q.PartitionStarts(ctx)
		if err != nil {
			return s, err
		}
		s.Partitions = len(starts)
	}
	if e.names {
		return s, e.namedSummary(ctx, &s, top)
	}
	counts, err := e.q.CountRows(ctx)
	if err != nil {
		return s, err
	}
	s.Rows, s.OldestMs, s.NewestMs = counts.RowCount, counts.OldestMs, counts.NewestMs
	if s.Records, err = e.q.CountRecords(ctx); err != nil || top <= 0 {
		return s, err
	}
	rows, err := e.q.TopRecords(ctx, int64(top))
	for _, r := range rows {
		s.Top = append(s.Top, core.RecordSummary{Name: r.RecordName, Rows: r.RowCount, NewestMs: r.NewestMs})
	}
	return s, err
}
