package repo

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math"

	"github.com/seed178a96f3/rechist/db"
	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/repo/internal/syncdb"
)

// The rollup tiers' SQL (queries/sync/rollup.sql, migrations 00005 and 00006): the
// write side (tierStore) on the writer's transaction, the read side
// (TierReader) on a reader's snapshot. Their tables may be missing only
// in a file opened read-only that predates them, so only the reader
// treats a missing table as empty.

var _ core.TierStore = (*tierStore)(nil)

// tierStore is core.TierStore on a KindTiers request's write transaction:
// the same statements (txStmts) the batch's other requests run on. Its
// statements run without ctx's cancellation, as every statement of the
// batch does (Commit); the request's function gets the batch's ctx, to
// see its deadline between statements.
type tierStore struct {
	conn   db.DBTX // the txStmts of the transaction
	q      *db.Queries
	sq     *syncdb.Queries
	recent *recentRows // the writer's rows just committed
}

// runTiers runs a KindTiers request's function on the transaction of q
// and sq and returns what it returns, its errors unchanged.
func runTiers(ctx context.Context, conn db.DBTX, q *db.Queries, sq *syncdb.Queries, r *core.Request, recent *recentRows) (int64, error) {
	return r.Tiers(ctx, &tierStore{conn: conn, q: q, sq: sq, recent: recent})
}

func (s *tierStore) Policies(ctx context.Context) ([]core.Policy, error) {
	got, err := s.sq.Policies(context.WithoutCancel(ctx))
	if err != nil {
		return nil, err
	}
	return policiesOf(got)
}

func (s *tierStore) SetPolicy(ctx context.Context, p core.Policy) error {
	return setPolicy(context.WithoutCancel(ctx), s.sq, p)
}

func (s *tierStore) RemovePolicy(ctx context.Context, pattern string, lang core.Language) (bool, error) {
	return removePolicy(context.WithoutCancel(ctx), s.sq, pattern, lang)
}

func (s *tierStore) RollupCursor(ctx context.Context) (int64, bool, error) {
	id, err := s.sq.RollupCursor(context.WithoutCancel(ctx))
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

func (s *tierStore) SetRollupCursor(ctx context.Context, id int64) error {
	return s.sq.SetRollupCursor(context.WithoutCancel(ctx), id)
}

func (s *tierStore) MaxID(ctx context.Context) (int64, error) {
	return s.q.LastID(context.WithoutCancel(ctx))
}

// RowsAfter takes the rows from the writer's memory when it has exactly
// those (recentRows), else from the table.
func (s *tierStore) RowsAfter(ctx context.Context, after int64, limit int) ([]core.Row, error) {
	var version int64
	if err := s.conn.QueryRowContext(context.WithoutCancel(ctx), dataVersion).Scan(&version); err != nil {
		return nil, err
	}
	if rows, ok := s.recent.after(version, after, limit); ok {
		return rows, nil
	}
	rows, err := s.conn.QueryContext(context.WithoutCancel(ctx), db.ChangesAfter, after, limit)
	if err != nil {
		return nil, err
	}
	var out []core.Row
	err = yieldRows(rows, func(r core.Row) bool {
		out = append(out, r)
		return true
	})
	return out, err
}

// dataVersion is the connection's data_version (recent.go).
const dataVersion = `SELECT data_version FROM pragma_data_version`

func (s *tierStore) RecordRows(ctx context.Context, name string, fromMs, toMs, maxID int64, yield func(core.Row) bool) error {
	rows, err := s.conn.QueryContext(context.WithoutCancel(ctx), syncdb.RecordRowsByID, name, fromMs, toMs, int64(math.MinInt64), maxID)
	if err != nil {
		return err
	}
	return yieldRows(rows, yield)
}

func (s *tierStore) Names(ctx context.Context, after string, limit int) ([]string, error) {
	return s.q.NamesAfter(context.WithoutCancel(ctx), db.NamesAfterParams{Lo: "", After: after, Hi: prefixEnd(""), Page: int64(limit)})
}

func (s *tierStore) Blocks(ctx context.Context, name string, everyMs, fromMs, toMs int64) ([]core.TierBlock, error) {
	return blocks(context.WithoutCancel(ctx), s.sq, name, everyMs, fromMs, toMs)
}

func (s *tierStore) BlocksAt(ctx context.Context, keys []core.TierBlock) ([]core.TierBlock, error) {
	list := make([][3]any, len(keys))
	for i, k := range keys {
		list[i] = [3]any{k.Name, k.EveryMs, k.BlockMs}
	}
	text, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	got, err := s.sq.RollupBlocksAt(context.WithoutCancel(ctx), string(text))
	if err != nil {
		return nil, err
	}
	out := make([]core.TierBlock, len(got))
	for i, g := range got {
		out[i] = core.TierBlock{Name: g.RecordName, EveryMs: g.EveryMs, BlockMs: g.BlockMs, Data: g.Data}
	}
	return out, nil
}

func (s *tierStore) PutBlocks(ctx context.Context, bs []core.TierBlock) error {
	for len(bs) >= 8 {
		b := bs[:8]
		p := syncdb.PutRollupBlocks8Params{
			N1: b[0].Name, E1: b[0].EveryMs, B1: b[0].BlockMs, D1: b[0].Data,
			N2: b[1].Name, E2: b[1].EveryMs, B2: b[1].BlockMs, D2: b[1].Data,
			N3: b[2].Name, E3: b[2].EveryMs, B3: b[2].BlockMs, D3: b[2].Data,
			N4: b[3].Name, E4: b[3].EveryMs, B4: b[3].BlockMs, D4: b[3].Data,
			N5: b[4].Name, E5: b[4].EveryMs, B5: b[4].BlockMs, D5: b[4].Data,
			N6: b[5].Name, E6: b[5].EveryMs, B6: b[5].BlockMs, D6: b[5].Data,
			N7: b[6].Name, E7: b[6].EveryMs, B7: b[6].BlockMs, D7: b[6].Data,
			N8: b[7].Name, E8: b[7].EveryMs, B8: b[7].BlockMs, D8: b[7].Data,
		}
		if err := s.sq.PutRollupBlocks8(context.WithoutCancel(ctx), p); err != nil {
			return err
		}
		bs = bs[8:]
	}
	for _, b := range bs {
		if err := s.PutBlock(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

func (s *tierStore) PutBlock(ctx context.Context, b core.TierBlock) error {
	return s.sq.PutRollupBlock(context.WithoutCancel(ctx), syncdb.PutRollupBlockParams{Name: b.Name, EveryMs: b.EveryMs, BlockMs: b.BlockMs, Data: b.Data})
}

func (s *tierStore) DeleteBlocks(ctx context.Context, name string, everyMs, fromMs, toMs int64) (int64, error) {
	return s.sq.DeleteRollupBlocks(context.WithoutCancel(ctx), syncdb.DeleteRollupBlocksParams{Name: name, EveryMs: everyMs, FromMs: fromMs, ToMs: toMs})
}

func (s *tierStore) TierWidths(ctx context.Context, name string) ([]int64, error) {
	return s.sq.RollupWidths(context.WithoutCancel(ctx), name)
}

func (s *tierStore) TierFrom(ctx context.Context, name string, everyMs int64) (int64, bool, error) {
	return tierFrom(context.WithoutCancel(ctx), s.sq, name, everyMs)
}

func (s *tierStore) SetTier(ctx context.Context, name string, everyMs, fromMs int64) error {
	return s.sq.SetRollupTier(context.WithoutCancel(ctx), syncdb.SetRollupTierParams{Name: name, EveryMs: everyMs, FromMs: fromMs})
}

func (s *tierStore) DeleteTier(ctx context.Context, name string, everyMs int64) error {
	ctx = context.WithoutCancel(ctx)
	if err := s.sq.DeleteRollupTierBlocks(ctx, syncdb.DeleteRollupTierBlocksParams{Name: name, EveryMs: everyMs}); err != nil {
		return err
	}
	return s.sq.DeleteRollupTier(ctx, syncdb.DeleteRollupTierParams{Name: name, EveryMs: everyMs})
}

func (s *tierStore) MarkFill(ctx context.Context, name string, everyMs int64) error {
	return s.sq.AddRollupFill(context.WithoutCancel(ctx), syncdb.AddRollupFillParams{Name: name, EveryMs: everyMs})
}

func (s *tierStore) UnmarkFill(ctx context.Context, name string, everyMs int64) error {
	return s.sq.DeleteRollupFill(context.WithoutCancel(ctx), syncdb.DeleteRollupFillParams{Name: name, EveryMs: everyMs})
}

func (s *tierStore) FillWidths(ctx context.Context, name string) ([]int64, error) {
	return s.sq.RollupFillWidths(context.WithoutCancel(ctx), name)
}

func (s *tierStore) FirstFill(ctx context.Context) (string, int64, bool, error) {
	f, err := s.sq.FirstRollupFill(context.WithoutCancel(ctx))
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, false, nil
	}
	return f.RecordName, f.EveryMs, err == nil, err
}

func (s *tierStore) DeleteRolledUp(ctx context.Context, name string, cutoffMs, maxID, limit int64) (int64, error) {
	s.recent.drop()
	return s.sq.DeleteRolledUpChunk(context.WithoutCancel(ctx), syncdb.DeleteRolledUpChunkParams{Name: name, CutoffMs: cutoffMs, MaxID: maxID, ChunkSize: limit})
}

func (s *tierStore) DeleteRange(ctx context.Context, name string, fromMs, toMs, limit int64) (int64, error) {
	s.recent.drop()
	return s.q.DeleteRecordRangeChunk(context.WithoutCancel(ctx), db.DeleteRecordRangeChunkParams{Name: name, StartMs: fromMs, EndMs: toMs, ChunkSize: limit})
}

func (s *tierStore) Horizon(ctx context.Context, name string) (int64, error) {
	ms, err := s.sq.RollupHorizon(context.WithoutCancel(ctx), name)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return ms, err
}

func (s *tierStore) SetHorizon(ctx context.Context, name string, ms int64) error {
	return s.sq.SetRollupHorizon(context.WithoutCancel(ctx), syncdb.SetRollupHorizonParams{Name: name, BeforeMs: ms})
}

// blocks reads the blocks of (name, everyMs) within [fromMs, toMs].
func blocks(ctx context.Context, sq *syncdb.Queries, name string, everyMs, fromMs, toMs int64) ([]core.TierBlock, error) {
	got, err := sq.RollupBlocks(ctx, syncdb.RollupBlocksParams{Name: name, EveryMs: everyMs, FromMs: fromMs, ToMs: toMs})
	if err != nil {
		return nil, err
	}
	out := make([]core.TierBlock, len(got))
	for i, g := range got {
		out[i] = core.TierBlock{Name: name, EveryMs: everyMs, BlockMs: g.BlockMs, Data: g.Data}
	}
	return out, nil
}

// tierFrom reads the tier (name, everyMs)'s from_ms; ok false when the
// record has no such tier.
func tierFrom(ctx context.Context, sq *syncdb.Queries, name string, everyMs int64) (int64, bool, error) {
	ms, err := sq.RollupTierFrom(ctx, syncdb.RollupTierFromParams{Name: name, EveryMs: everyMs})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, false, nil
	case err != nil:
		return 0, false, err
	}
	return ms, true, nil
}

// The reader's TierReader: a file opened read-only that predates migration
// 00005 has no cursor, no horizons, no tiers and no buckets; one between
// 00005 and 00006 has tiers whose buckets it cannot read (Blocks fails
// with errTiersPredateBlocks).

func (r *reader) RollupCursor(ctx context.Context) (int64, bool, error) {
	id, err := syncdb.New(r.conn).RollupCursor(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows) || r.missingTable(ctx, err, "rechist_rollup_cursor"):
		return 0, false, nil
	case err != nil:
		return 0, false, err
	}
	return id, true, nil
}

func (r *reader) Horizon(ctx context.Context, name string) (int64, error) {
	ms, err := syncdb.New(r.conn).RollupHorizon(ctx, name)
	if errors.Is(err, sql.ErrNoRows) || r.missingTable(ctx, err, "rechist_rollup_horizon") {
		return 0, nil
	}
	return ms, err
}

// errTiersPredateBlocks is Blocks' error on a file whose tiers are in
// migration 00005's format.
var errTiersPredateBlocks = errors.New("the file's rollup tiers are in an earlier rechist's format: open it writable once (rechist migrate) to rebuild them")

func (r *reader) Blocks(ctx context.Context, name string, everyMs, fromMs, toMs int64) ([]core.TierBlock, error) {
	got, err := blocks(ctx, syncdb.New(r.conn), name, everyMs, fromMs, toMs)
	if err != nil && r.missingTable(ctx, err, "rechist_rollup_block") {
		if r.missingTable(ctx, err, "rechist_rollup_tier") {
			return nil, nil // before tiers: none
		}
		return nil, errTiersPredateBlocks
	}
	return got, err
}

func (r *reader) TierUsage(ctx context.Context) ([]core.TierUsage, error) {
	got, err := syncdb.New(r.conn).RollupUsage(ctx)
	if err != nil {
		if r.missingTable(ctx, err, "rechist_rollup_block") {
			return nil, nil
		}
		return nil, err
	}
	out := make([]core.TierUsage, len(got))
	for i, g := range got {
		out[i] = core.TierUsage{Name: g.RecordName, EveryMs: g.EveryMs, Blocks: g.Blocks, Bytes: g.Bytes}
	}
	return out, nil
}

func (r *reader) EdgeBlocks(ctx context.Context, name string, everyMs int64) (oldest, newest core.TierBlock, ok bool, err error) {
	q := syncdb.New(r.conn)
	o, err := q.RollupOldestBlock(ctx, syncdb.RollupOldestBlockParams{Name: name, EveryMs: everyMs})
	if err == nil {
		var n syncdb.RollupNewestBlockRow
		n, err = q.RollupNewestBlock(ctx, syncdb.RollupNewestBlockParams{Name: name, EveryMs: everyMs})
		newest = core.TierBlock{Name: name, EveryMs: everyMs, BlockMs: n.BlockMs, Data: n.Data}
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return oldest, newest, false, nil
	case err != nil && r.missingTable(ctx, err, "rechist_rollup_block"):
		return oldest, newest, false, errTiersPredateBlocks
	case err != nil:
		return oldest, newest, false, err
	}
	return core.TierBlock{Name: name, EveryMs: everyMs, BlockMs: o.BlockMs, Data: o.Data}, newest, true, nil
}

func (r *reader) TierWidths(ctx context.Context, name string) ([]int64, error) {
	got, err := syncdb.New(r.conn).RollupWidths(ctx, name)
	if err != nil && r.missingTable(ctx, err, "rechist_rollup_tier") {
		return nil, nil
	}
	return got, err
}

func (r *reader) TierFrom(ctx context.Context, name string, everyMs int64) (int64, bool, error) {
	ms, ok, err := tierFrom(ctx, syncdb.New(r.conn), name, everyMs)
	if err != nil && r.missingTable(ctx, err, "rechist_rollup_tier") {
		return 0, false, nil
	}
	return ms, ok, err
}

// TierNames is Names over the records that have tiers: a record whose raw
// rows retention has all deleted is in rechist_rollup_tier only. Not yet
// in core.TierReader: what the core's Aggregate would list with Names.
func (r *reader) TierNames(ctx context.Context, p core.Pattern, after string, limit int) ([]string, error) {
	lo, hi := nameRange(p)
	got, err := syncdb.New(r.conn).RollupNames(ctx, syncdb.RollupNamesParams{Lo: lo, After: after, Hi: hi, Page: int64(limit)})
	if err != nil && r.missingTable(ctx, err, "rechist_rollup_tier") {
		return nil, nil
	}
	return got, err
}

// recentScanMax is the most ids above afterID for which RowsAbove reads
// the table from afterID on (RecentRecordRows) rather than the record's
// rows in the range (RecordRowsByID, through idx_record_time): a bounded
// read, where the index range holds every row of the range, rolled up or
// not. With one record of 1M rows in the range and 20k ids above the
// cursor, the table read took 1.5 ms, the index range 100 ms.
const recentScanMax = 1 << 16

func (r *reader) RowsAbove(ctx context.Context, name string, rg core.Range, afterID int64, yield func(core.Row) bool) error {
	last, err := r.q.LastID(ctx)
	if err != nil {
		return err
	}
	query, args := syncdb.RecordRowsByID, []any{name, rg.StartMs, rg.EndMs, afterID, int64(math.MaxInt64)}
	if afterID >= last-recentScanMax {
		query, args = syncdb.RecentRecordRows, []any{afterID, name, rg.StartMs, rg.EndMs}
	}
	rows, err := r.conn.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	return yieldRows(rows, yield)
}

func (s *tierStore) TierNames(ctx context.Context, p core.Pattern, after string, limit int) ([]string, error) {
	lo, hi := nameRange(p)
	return s.sq.RollupNames(context.WithoutCancel(ctx), syncdb.RollupNamesParams{Lo: lo, After: after, Hi: hi, Page: int64(limit)})
}
