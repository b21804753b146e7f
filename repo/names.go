package repo

import (
	"context"

	"github.com/seed178a96f3/rechist/db"
	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/repo/internal/syncdb"
)

// The names table (migration 00008, queries/sync/names.sql): a row a
// record, kept by triggers. A file opened read-only may predate it; each
// read then falls back to walking idx_record_time, as before the table.

func (r *reader) Names(ctx context.Context, p core.Pattern, after string, limit int) ([]string, error) {
	stats, err := r.namedRecords(ctx, p, after, limit)
	if err != nil && r.missingTable(ctx, err, "rechist_record") {
		lo, hi := nameRange(p)
		return r.q.NamesAfter(ctx, db.NamesAfterParams{Lo: lo, After: after, Hi: hi, Page: int64(limit)})
	}
	names := make([]string, len(stats))
	for i, s := range stats {
		names[i] = s.Name
	}
	return names, err
}

func (r *reader) RecordStats(ctx context.Context, p core.Pattern, after string, limit int) ([]core.RecordStat, error) {
	stats, err := r.namedRecords(ctx, p, after, limit)
	if err != nil && r.missingTable(ctx, err, "rechist_record") {
		return core.StatsByWalk(ctx, r, p, after, limit)
	}
	return stats, err
}

// Info counts the record's index entries: what RecordStats falls back to
// on a file without the names table.
func (r *reader) Info(ctx context.Context, name string) (int64, int64, int64, error) {
	i, err := r.q.RecordInfo(ctx, name)
	return i.RowCount, i.FirstMs, i.LastMs, err
}

// namedRecords reads a page of the names table.
func (r *reader) namedRecords(ctx context.Context, p core.Pattern, after string, limit int) ([]core.RecordStat, error) {
	lo, hi := nameRange(p)
	got, err := syncdb.New(r.conn).NamedRecords(ctx, syncdb.NamedRecordsParams{Lo: lo, After: after, Hi: hi, Page: int64(limit)})
	if err != nil {
		return nil, err
	}
	out := make([]core.RecordStat, len(got))
	for i, g := range got {
		out[i] = core.RecordStat{Name: g.RecordName, Rows: g.RowCount, FirstMs: g.FirstMs, LastMs: g.LastMs}
	}
	return out, nil
}

// latestNamed is Query's walk with the names from the names table.
func (r *reader) latestNamed(ctx context.Context, lo, hi, filter string, rg core.Range) ([]core.Row, error) {
	got, err := syncdb.New(r.conn).QueryLatestNamed(ctx, syncdb.QueryLatestNamedParams{
		Lo: lo, Hi: hi, Pattern: filter,
		StartMs: rg.StartMs, EndMs: rg.EndMs, LimitPerRecord: rg.LimitPerRecord,
	})
	if err != nil {
		return nil, err
	}
	rows := make([]core.Row, len(got))
	for i, g := range got {
		rows[i] = core.Row{ID: g.ID, Name: g.RecordName, ValueJSON: g.ValueJson, StoredAt: g.StoredAt}
	}
	return rows, nil
}
