package postgres

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/seed178a96f3/rechist/postgres/db"
	"github.com/seed178a96f3/rechist/repo"
)

// Query returns the matching rows within r in result order: record name
// (bytewise), newest first, the later insert first among equal times.
func (e *Engine) Query(ctx context.Context, pattern string, r repo.Range) ([]repo.Row, error) {
	const op = "query"
	p, err := repo.CompilePattern(op, pattern)
	if err != nil {
		return nil, err
	}
	switch {
	case r.LimitPerRecord < 0:
		return nil, repo.Invalidf(op, "limit per record must not be negative, got %d", r.LimitPerRecord)
	case r.StartMs > r.EndMs:
		return nil, repo.Invalidf(op, "start %d ms is after end %d ms", r.StartMs, r.EndMs)
	}
	if e.w.Closed() {
		return nil, repo.ErrClosed
	}
	var got []db.RecordHistory
	if p.MatchesAll && r.LimitPerRecord == 0 {
		got, err = e.q.QueryTimeRange(ctx, db.QueryTimeRangeParams{StartMs: r.StartMs, EndMs: r.EndMs})
	} else {
		hi, bounded := textPrefixEnd(p.Lo)
		if !bounded {
			hi = maxText
		}
		limit := pgtype.Int8{Int64: r.LimitPerRecord, Valid: r.LimitPerRecord > 0}
		got, err = e.q.QueryLatestWalk(ctx, db.QueryLatestWalkParams{
			Lo: p.Lo, Hi: hi, LikePattern: p.Like,
			StartMs: r.StartMs, EndMs: r.EndMs, LimitPerRecord: limit,
		})
	}
	if err != nil {
		if e.w.Closed() {
			return nil, repo.ErrClosed
		}
		return nil, fmt.Errorf("rechist: %s: %w", op, err)
	}
	rows := make([]repo.Row, len(got))
	for i, g := range got {
		rows[i] = repo.Row{ID: g.ID, Name: g.RecordName, ValueJSON: g.ValueJson, StoredAt: g.StoredAt}
	}
	return rows, nil
}

// maxText sorts after every name a prefix range has to cover: PostgreSQL
// text must be valid UTF-8, and no valid string of this length sorts after
// four U+10FFFF.
var maxText = strings.Repeat(string(utf8.MaxRune), 4)

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
func (e *Engine) Summary(ctx context.Context, top int) (repo.Summary, error) {
	const op = "summary"
	if top < 0 {
		return repo.Summary{}, repo.Invalidf(op, "top must not be negative, got %d", top)
	}
	if e.w.Closed() {
		return repo.Summary{}, repo.ErrClosed
	}
	var s repo.Summary
	counts, err := e.q.CountRows(ctx)
	if err != nil {
		return s, fmt.Errorf("rechist: %s: %w", op, err)
	}
	s.Rows, s.OldestMs, s.NewestMs = counts.RowCount, counts.OldestMs, counts.NewestMs
	if s.Records, err = e.q.CountRecords(ctx); err != nil {
		return s, fmt.Errorf("rechist: %s: %w", op, err)
	}
	if s.FileBytes, err = e.q.TableBytes(ctx); err != nil {
		return s, fmt.Errorf("rechist: %s: %w", op, err)
	}
	if top > 0 {
		rows, err := e.q.TopRecords(ctx, int64(top))
		if err != nil {
			return s, fmt.Errorf("rechist: %s: %w", op, err)
		}
		for _, r := range rows {
			s.Top = append(s.Top, repo.RecordSummary{Name: r.RecordName, Rows: r.RowCount, NewestMs: r.NewestMs})
		}
	}
	return s, nil
}
