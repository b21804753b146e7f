package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/postgres/internal/db"
)

// Reads of the newest rows on a partitioned table. A query whose time range
// covers every partition is planned over every partition (0.1 ms a
// partition: 40 ms for one record's newest row at 365 partitions), and in a
// LATERAL join over the names each record rescans every partition's index.
// So the newest rows are read window by window of time, each window's
// bounds constants of its query (PostgreSQL plans only the partitions in
// it): first the partition of each record's newest row (the names table
// says which), then further back, each window four times as wide as the
// one before, for the records that still want rows and have older ones.

// edge is a record's name and the times of its oldest and newest row.
type edge struct {
	name            string
	firstMs, lastMs int64
}

// latestStepped returns the newest rows, at most rg.LimitPerRecord each
// (positive), of the records in edges (name order) within rg, in
// Query's order, reading window by window back from each record's newest
// row in partitions of widthMs.
func latestStepped(ctx context.Context, q *db.Queries, edges []edge, rg core.Range, widthMs int64) ([]db.RecordHistory, error) {
	type want struct {
		name      string
		left      int64 // rows still wanted
		hi, floor int64 // the next window ends at hi; no rows before floor
	}
	type window struct{ lo, hi int64 }
	byName := make(map[string][]db.RecordHistory, len(edges))
	var pending []want
	for _, e := range edges {
		hi, floor := min(rg.EndMs, e.lastMs), max(rg.StartMs, e.firstMs)
		if hi >= floor {
			pending = append(pending, want{name: e.name, left: rg.LimitPerRecord, hi: hi, floor: floor})
		}
	}
	for span := widthMs; len(pending) > 0; span *= 4 {
		groups := map[window][]want{}
		var order []window
		for _, w := range pending {
			// From the start of hi's partition, span-widthMs further back:
			// a window of whole partitions (at rg's edges, parts of them).
			start := w.hi - w.hi%widthMs
			win := window{lo: max(rg.StartMs, start-(span-widthMs)), hi: min(rg.EndMs, start+widthMs-1)}
			if _, ok := groups[win]; !ok {
				order = append(order, win)
			}
			groups[win] = append(groups[win], w)
		}
		pending = pending[:0]
		for _, win := range order {
			ws := groups[win]
			names, lims := make([]string, len(ws)), make([]int64, len(ws))
			for i, w := range ws {
				names[i], lims[i] = w.name, w.left
			}
			got, err := q.LatestInWindow(ctx, db.LatestInWindowParams{Names: names, Lims: lims, StartMs: win.lo, EndMs: win.hi})
			if err != nil {
				return nil, err
			}
			n := map[string]int64{}
			for _, g := range got {
				byName[g.RecordName] = append(byName[g.RecordName], g)
				n[g.RecordName]++
			}
			for _, w := range ws {
				w.left -= n[w.name]
				if w.left > 0 && win.lo > w.floor {
					w.hi = win.lo - 1
					pending = append(pending, w)
				}
			}
		}
	}
	var out []db.RecordHistory
	for _, e := range edges {
		out = append(out, byName[e.name]...)
	}
	return out, nil
}

// stepped runs fn with the queries of one read-only snapshot: the reader's
// transaction (Engine.Read), or one of its own for a reader on the pool,
// since a stepped read takes several statements.
func (r *reader) stepped(ctx context.Context, fn func(q *db.Queries) error) error {
	if _, inTx := r.conn.(pgx.Tx); inTx {
		return fn(r.q)
	}
	tx, err := r.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // read-only: nothing to keep
	return fn(r.q.WithTx(tx))
}

// latestPartitioned is Query's walk on a partitioned table: the records
// from the names table (matching like, and p where like cannot say it
// all), then their newest rows window by window.
func (r *reader) latestPartitioned(ctx context.Context, p core.Pattern, like string, complete bool, rg core.Range) ([]db.RecordHistory, error) {
	var out []db.RecordHistory
	err := r.stepped(ctx, func(q *db.Queries) error {
		var edges []edge
		add := func(name string, first, last int64) {
			if complete || p.Match(name) {
				edges = append(edges, edge{name: name, firstMs: first, lastMs: last})
			}
		}
		if hi, bounded := upperBound(p); bounded {
			got, err := q.NamedEdges(ctx, db.NamedEdgesParams{Lo: p.Prefix, Hi: hi, LikePattern: like})
			if err != nil {
				return err
			}
			for _, g := range got {
				add(g.RecordName, g.FirstMs, g.LastMs)
			}
		} else {
			got, err := q.NamedEdgesOpen(ctx, db.NamedEdgesOpenParams{Lo: p.Prefix, LikePattern: like})
			if err != nil {
				return err
			}
			for _, g := range got {
				add(g.RecordName, g.FirstMs, g.LastMs)
			}
		}
		var err error
		out, err = latestStepped(ctx, q, edges, rg, r.widthMs)
		return err
	})
	return out, err
}

// rowsPartitioned is Rows with a limit on a partitioned table, and Query
// of one record with a limit: first one statement over the current
// partition, the one before it and any after them (most reads ask for a
// live record's newest rows, and just after a partition begins they are in
// the one before), its partitions constants of its text (prune.go), which
// answers when it finds the limit's worth or covers the whole range;
// otherwise the record's newest rows window by window, in one snapshot.
func (r *reader) rowsPartitioned(ctx context.Context, name string, rg core.Range, yield func(core.Row) bool) error {
	now := time.Now().UnixMilli()
	lo := max(rg.StartMs, now-now%r.widthMs-r.widthMs)
	var got []db.RecordHistory
	if lo <= rg.EndMs {
		rows, err := r.conn.Query(ctx, pruned(db.RecordRows, r.widthMs, lo, rg.EndMs), name, lo, rg.EndMs, rg.LimitPerRecord)
		if err == nil {
			got, err = pgx.CollectRows(rows, pgx.RowToStructByPos[db.RecordHistory])
		}
		if err != nil {
			return err
		}
	}
	var err error
	if int64(len(got)) < rg.LimitPerRecord && lo > rg.StartMs {
		err = r.stepped(ctx, func(q *db.Queries) error {
			e, err := q.RecordEdges(ctx, name)
			if err != nil || len(e) == 0 {
				got = nil
				return err
			}
			got, err = latestStepped(ctx, q, []edge{{name: name, firstMs: e[0].FirstMs, lastMs: e[0].LastMs}}, rg, r.widthMs)
			return err
		})
		if err != nil {
			return err
		}
	}
	for _, g := range got {
		if !yield(core.Row{ID: g.ID, Name: g.RecordName, ValueJSON: g.ValueJson, StoredAt: g.StoredAt}) {
			break
		}
	}
	return nil
}
