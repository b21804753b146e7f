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
		if bounded {
			got, err = rd.q.QueryLatestWalk(ctx, db.QueryLatestWalkParams{
				Lo: p.Prefix, Hi: hi, LikePattern: like,
				StartMs: r.StartMs, EndMs: r.EndMs, LimitPerRecord: limit,
			})
		} else {
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
// disk (FileBytes; WALBytes is zero), and lists the top records by rows.
func (e *engine) Summary(ctx context.Context, top int) (core.Summary, error) {
	var s core.Summary
	counts, err := e.q.CountRows(ctx)
	if err != nil {
		return s, err
	}
	s.Rows, s.OldestMs, s.NewestMs = counts.RowCount, counts.OldestMs, counts.NewestMs
	if s.Records, err = e.q.CountRecords(ctx); err != nil {
		return s, err
	}
	if s.FileBytes, err = e.q.TableBytes(ctx); err != nil {
		return s, err
	}
	if top > 0 {
		rows, err := e.q.TopRecords(ctx, int64(top))
		if err != nil {
			return s, err
		}
		for _, r := range rows {
			s.Top = append(s.Top, core.RecordSummary{Name: r.RecordName, Rows: r.RowCount, NewestMs: r.NewestMs})
		}
	}
	return s, nil
}
