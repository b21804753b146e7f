package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/postgres/internal/db"
)

// The names table (migration 00007, queries/names.sql): a row a record,
// kept by triggers. A schema opened read-only may predate it (the engine
// asks once, at Open); its reads then walk idx_record_time, as before the
// table.

func (r *reader) Names(ctx context.Context, p core.Pattern, after string, limit int) ([]string, error) {
	if r.names {
		stats, err := r.namedRecords(ctx, p, after, limit)
		names := make([]string, len(stats))
		for i, s := range stats {
			names[i] = s.Name
		}
		return names, err
	}
	// The core tests every name with the pattern (an exact name's range
	// is widened: see upperBound).
	end, bounded := upperBound(p)
	if !bounded {
		return r.q.NamesAfterOpen(ctx, db.NamesAfterOpenParams{Lo: p.Prefix, After: after, Page: int64(limit)})
	}
	return r.q.NamesAfter(ctx, db.NamesAfterParams{Lo: p.Prefix, After: after, Hi: end, Page: int64(limit)})
}

func (r *reader) RecordStats(ctx context.Context, p core.Pattern, after string, limit int) ([]core.RecordStat, error) {
	if !r.names {
		return core.StatsByWalk(ctx, r, p, after, limit)
	}
	return r.namedRecords(ctx, p, after, limit)
}

// Info counts the record's index entries: what RecordStats falls back to
// in a schema without the names table.
func (r *reader) Info(ctx context.Context, name string) (int64, int64, int64, error) {
	i, err := r.q.RecordInfo(ctx, name)
	return i.RowCount, i.FirstMs, i.LastMs, err
}

// namedRecords reads a page of the names table.
func (r *reader) namedRecords(ctx context.Context, p core.Pattern, after string, limit int) ([]core.RecordStat, error) {
	var out []core.RecordStat
	add := func(name string, rows, first, last int64) {
		out = append(out, core.RecordStat{Name: name, Rows: rows, FirstMs: first, LastMs: last})
	}
	end, bounded := upperBound(p)
	if !bounded {
		got, err := r.q.NamedRecordsOpen(ctx, db.NamedRecordsOpenParams{Lo: p.Prefix, After: after, Page: int64(limit)})
		for _, g := range got {
			add(g.RecordName, g.RowCount, g.FirstMs, g.LastMs)
		}
		return out, err
	}
	got, err := r.q.NamedRecords(ctx, db.NamedRecordsParams{Lo: p.Prefix, After: after, Hi: end, Page: int64(limit)})
	for _, g := range got {
		add(g.RecordName, g.RowCount, g.FirstMs, g.LastMs)
	}
	return out, err
}

// latestNamed is Query's walk with the names from the names table.
func (r *reader) latestNamed(ctx context.Context, p core.Pattern, like string, rg core.Range) ([]db.RecordHistory, error) {
	limit := pgtype.Int8{Int64: rg.LimitPerRecord, Valid: rg.LimitPerRecord > 0}
	var rows pgx.Rows
	var err error
	if hi, bounded := upperBound(p); bounded {
		rows, err = r.conn.Query(ctx, pruned(db.QueryLatestNamed, r.widthMs, rg.StartMs, rg.EndMs),
			rg.StartMs, rg.EndMs, limit, p.Prefix, hi, like)
	} else {
		rows, err = r.conn.Query(ctx, pruned(db.QueryLatestNamedOpen, r.widthMs, rg.StartMs, rg.EndMs),
			rg.StartMs, rg.EndMs, limit, p.Prefix, like)
	}
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[db.RecordHistory])
}

// namedSummary fills in s's rows, records, time span and top records from
// the names table, in one snapshot.
func (e *engine) namedSummary(ctx context.Context, s *core.Summary, top int) error {
	tx, err := e.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // read-only: nothing to keep
	q := e.q.WithTx(tx)
	t, err := q.NamedTotals(ctx)
	if err != nil {
		return err
	}
	s.Rows, s.Records, s.OldestMs, s.NewestMs = t.RowCount, t.RecordCount, t.OldestMs, t.NewestMs
	if top <= 0 {
		return nil
	}
	got, err := q.NamedTop(ctx, int64(top))
	for _, r := range got {
		s.Top = append(s.Top, core.RecordSummary{Name: r.RecordName, Rows: r.RowCount, NewestMs: r.NewestMs})
	}
	return err
}
