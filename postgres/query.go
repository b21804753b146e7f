package postgres

import (
	"context"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/postgres/db"
)

// Query returns the matching rows within r in result order: record name
// (bytewise), newest first, the later insert first among equal times.
func (e *engine) Query(ctx context.Context, p core.Pattern, r core.Range) ([]core.Row, error) {
	var got []db.RecordHistory
	var err error
	if p.MatchesAll && r.LimitPerRecord == 0 {
		got, err = e.q.QueryTimeRange(ctx, db.QueryTimeRangeParams{StartMs: r.StartMs, EndMs: r.EndMs})
	} else {
		hi, bounded := textPrefixEnd(p.Lo)
		limit := pgtype.Int8{Int64: r.LimitPerRecord, Valid: r.LimitPerRecord > 0}
		if bounded {
			got, err = e.q.QueryLatestWalk(ctx, db.QueryLatestWalkParams{
				Lo: p.Lo, Hi: hi, LikePattern: p.Like,
				StartMs: r.StartMs, EndMs: r.EndMs, LimitPerRecord: limit,
			})
		} else {
			got, err = e.q.QueryLatestWalkOpen(ctx, db.QueryLatestWalkOpenParams{
				Lo: p.Lo, LikePattern: p.Like,
				StartMs: r.StartMs, EndMs: r.EndMs, LimitPerRecord: limit,
			})
		}
	}
	if err != nil {
		return nil, err
	}
	rows := make([]core.Row, len(got))
	for i, g := range got {
		rows[i] = core.Row{ID: g.ID, Name: g.RecordName, ValueJSON: g.ValueJson, StoredAt: g.StoredAt}
	}
	return rows, nil
}

// textPrefixEnd returns a valid UTF-8 string greater than every string that
// starts with prefix: prefix with its last rune incremented (the bytewise
// order of UTF-8 is the order of code points). It reports false when there
// is none (an empty prefix, or one of U+10FFFF only).
func textPrefixEnd(prefix string) (string, bool) {
	for prefix != "" {
		r, size := utf8.DecodeLastRuneInString(prefix)
		prefix = prefix[:len(prefix)-size]
		switch {
		case r == utf8.MaxRune:
			continue
		case r == 0xD7FF:
			r = 0xE000 // skip the surrogates, which UTF-8 cannot hold
		default:
			r++
		}
		return prefix + string(r), true
	}
	return "", false
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
