package repo

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/seed178a96f3/rechist/db"
	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/repo/internal/legacydb"
	"github.com/seed178a96f3/rechist/repo/internal/mergedb"
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
	series series      // the block series this transaction has looked up
}

// runTiers runs a KindTiers request's function on the transaction of q
// and sq and returns what it returns, its errors unchanged.
func runTiers(ctx context.Context, conn db.DBTX, q *db.Queries, sq *syncdb.Queries, r *core.Request, recent *recentRows) (int64, error) {
	return r.Tiers(ctx, &tierStore{conn: conn, q: q, sq: sq, recent: recent, series: series{sq: sq}})
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

// BlocksAt looks the keys' series up (each once a transaction) and reads
// the blocks of those that exist in one statement.
func (s *tierStore) BlocksAt(ctx context.Context, keys []core.TierBlock) ([]core.TierBlock, error) {
	ctx = context.WithoutCancel(ctx)
	type where struct {
		name       string
		every, era int64
	}
	at := make(map[int64]where, len(keys))
	list := make([]int64, 0, len(keys))
	for _, k := range keys {
		n := blockNumber(k.BlockMs, k.EveryMs)
		id, ok, err := s.series.id(ctx, seriesKey{k.Name, k.EveryMs, n >> eraBits}, false)
		if err != nil {
			return nil, err
		}
		if ok {
			key := blockKey(id, n)
			at[key] = where{k.Name, k.EveryMs, n >> eraBits}
			list = append(list, key)
		}
	}
	if len(list) == 0 {
		return nil, nil
	}
	text, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	got, err := s.sq.TierBlocksAt(ctx, string(text))
	if err != nil {
		return nil, err
	}
	out := make([]core.TierBlock, len(got))
	for i, g := range got {
		w := at[g.BlockKey]
		out[i] = core.TierBlock{Name: w.name, EveryMs: w.every, BlockMs: blockMsOf(g.BlockKey, w.era, w.every), Data: g.Data}
	}
	return out, nil
}

// key is the block key of b, its series made if it has none yet.
func (s *tierStore) key(ctx context.Context, b core.TierBlock) (int64, error) {
	if b.EveryMs <= 0 || b.BlockMs%blockSpan(b.EveryMs) != 0 {
		return 0, fmt.Errorf("block of %q at %d ms is not aligned to eight widths of %d ms", b.Name, b.BlockMs, b.EveryMs)
	}
	n := blockNumber(b.BlockMs, b.EveryMs)
	id, _, err := s.series.id(ctx, seriesKey{b.Name, b.EveryMs, n >> eraBits}, true)
	return blockKey(id, n), err
}

func (s *tierStore) PutBlocks(ctx context.Context, bs []core.TierBlock) error {
	return s.inEights(ctx, bs, func(ctx context.Context, k [8]int64, b []core.TierBlock) error {
		return s.sq.PutTierBlocks8(ctx, syncdb.PutTierBlocks8Params{
			K1: k[0], D1: b[0].Data, K2: k[1], D2: b[1].Data, K3: k[2], D3: b[2].Data, K4: k[3], D4: b[3].Data,
			K5: k[4], D5: b[4].Data, K6: k[5], D6: b[5].Data, K7: k[6], D7: b[6].Data, K8: k[7], D8: b[7].Data,
		})
	}, func(ctx context.Context, key int64, b core.TierBlock) error {
		return s.sq.PutTierBlock(ctx, syncdb.PutTierBlockParams{BlockKey: key, Data: b.Data})
	})
}

// MergeBlocks is core.BlockMerger's: an upsert that merges where a block
// is stored (rechist_merge_block), eight blocks a statement.
func (s *tierStore) MergeBlocks(ctx context.Context, bs []core.TierBlock) error {
	mq := mergedb.New(s.conn)
	return s.inEights(ctx, bs, func(ctx context.Context, k [8]int64, b []core.TierBlock) error {
		return mq.MergeTierBlocks8(ctx, mergedb.MergeTierBlocks8Params{
			K1: k[0], D1: b[0].Data, K2: k[1], D2: b[1].Data, K3: k[2], D3: b[2].Data, K4: k[3], D4: b[3].Data,
			K5: k[4], D5: b[4].Data, K6: k[5], D6: b[5].Data, K7: k[6], D7: b[6].Data, K8: k[7], D8: b[7].Data,
		})
	}, func(ctx context.Context, key int64, b core.TierBlock) error {
		return mq.MergeTierBlock(ctx, mergedb.MergeTierBlockParams{BlockKey: key, Data: b.Data})
	})
}

// inEights writes bs eight at a time with put8 (one statement's overhead
// for eight), the rest one by one with put1, each with its block key
// (its series made if it has none yet).
func (s *tierStore) inEights(ctx context.Context, bs []core.TierBlock,
	put8 func(context.Context, [8]int64, []core.TierBlock) error, put1 func(context.Context, int64, core.TierBlock) error) error {
	ctx = context.WithoutCancel(ctx)
	var k [8]int64
	for len(bs) >= 8 {
		for i := range k {
			var err error
			if k[i], err = s.key(ctx, bs[i]); err != nil {
				return err
			}
		}
		if err := put8(ctx, k, bs[:8]); err != nil {
			return err
		}
		bs = bs[8:]
	}
	for _, b := range bs {
		key, err := s.key(ctx, b)
		if err != nil {
			return err
		}
		if err := put1(ctx, key, b); err != nil {
			return err
		}
	}
	return nil
}

func (s *tierStore) PutBlock(ctx context.Context, b core.TierBlock) error {
	ctx = context.WithoutCancel(ctx)
	key, err := s.key(ctx, b)
	if err != nil {
		return err
	}
	return s.sq.PutTierBlock(ctx, syncdb.PutTierBlockParams{BlockKey: key, Data: b.Data})
}

func (s *tierStore) DeleteBlocks(ctx context.Context, name string, everyMs, fromMs, toMs int64) (int64, error) {
	ctx = context.WithoutCancel(ctx)
	ss, err := seriesIn(ctx, s.sq, name, everyMs, fromMs, toMs)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, e := range ss {
		d, err := s.sq.DeleteTierBlocks(ctx, syncdb.DeleteTierBlocksParams{FromKey: e.from, ToKey: e.to})
		if err != nil {
			return n, err
		}
		n += d
	}
	return n, nil
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
	if _, err := s.DeleteBlocks(ctx, name, everyMs, math.MinInt64, math.MaxInt64); err != nil {
		return err
	}
	if err := s.sq.DeleteTierSeries(ctx, syncdb.DeleteTierSeriesParams{Name: name, EveryMs: everyMs}); err != nil {
		return err
	}
	s.series.forget(name, everyMs)
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

// blocks reads the blocks of (name, everyMs) starting within [fromMs,
// toMs], in time order: a range of keys in each series (one, always but
// for a tier spanning centuries).
func blocks(ctx context.Context, sq *syncdb.Queries, name string, everyMs, fromMs, toMs int64) ([]core.TierBlock, error) {
	ss, err := seriesIn(ctx, sq, name, everyMs, fromMs, toMs)
	if err != nil {
		return nil, err
	}
	var out []core.TierBlock
	for _, e := range ss {
		got, err := sq.TierBlocks(ctx, syncdb.TierBlocksParams{FromKey: e.from, ToKey: e.to})
		if err != nil {
			return nil, err
		}
		for _, g := range got {
			out = append(out, core.TierBlock{Name: name, EveryMs: everyMs, BlockMs: blockMsOf(g.BlockKey, e.era, everyMs), Data: g.Data})
		}
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

// blockTables says where r's file keeps its blocks, for a statement on
// rechist_tier_series that failed with err: in 00006's table (legacy
// true: a file before 00011, opened read-only), nowhere (false and nil:
// a file before tiers), or in 00005's format (errTiersPredateBlocks). Any
// other error is err.
func (r *reader) blockTables(ctx context.Context, err error) (legacy bool, _ error) {
	switch {
	case !r.missingTable(ctx, err, "rechist_tier_series"):
		return false, err
	case r.hasTable(ctx, "rechist_rollup_block"):
		return true, nil
	case !r.hasTable(ctx, "rechist_rollup_tier"):
		return false, nil
	}
	return false, errTiersPredateBlocks
}

// hasTable says whether r's file has the table.
func (r *reader) hasTable(ctx context.Context, table string) bool {
	var exists bool
	return r.conn.QueryRowContext(ctx, tableExists, table).Scan(&exists) == nil && exists
}

func (r *reader) Blocks(ctx context.Context, name string, everyMs, fromMs, toMs int64) ([]core.TierBlock, error) {
	got, err := blocks(ctx, syncdb.New(r.conn), name, everyMs, fromMs, toMs)
	if err == nil {
		return got, nil
	}
	legacy, err := r.blockTables(ctx, err)
	if !legacy {
		return nil, err
	}
	old, err := legacydb.New(r.conn).RollupBlocks(ctx, legacydb.RollupBlocksParams{Name: name, EveryMs: everyMs, FromMs: fromMs, ToMs: toMs})
	out := make([]core.TierBlock, len(old))
	for i, g := range old {
		out[i] = core.TierBlock{Name: name, EveryMs: everyMs, BlockMs: g.BlockMs, Data: g.Data}
	}
	return out, err
}

func (r *reader) TierUsage(ctx context.Context) ([]core.TierUsage, error) {
	var out []core.TierUsage
	got, err := syncdb.New(r.conn).TierUsage(ctx)
	for _, g := range got {
		out = append(out, core.TierUsage{Name: g.RecordName, EveryMs: g.EveryMs, Blocks: g.Blocks, Bytes: g.Bytes})
	}
	if err == nil {
		return out, nil
	}
	legacy, err := r.blockTables(ctx, err)
	if !legacy {
		if errors.Is(err, errTiersPredateBlocks) {
			err = nil // no blocks to list
		}
		return nil, err
	}
	old, err := legacydb.New(r.conn).RollupUsage(ctx)
	for _, g := range old {
		out = append(out, core.TierUsage{Name: g.RecordName, EveryMs: g.EveryMs, Blocks: g.Blocks, Bytes: g.Bytes})
	}
	return out, err
}

func (r *reader) EdgeBlocks(ctx context.Context, name string, everyMs int64) (oldest, newest core.TierBlock, ok bool, err error) {
	q := syncdb.New(r.conn)
	ss, err := seriesIn(ctx, q, name, everyMs, math.MinInt64, math.MaxInt64)
	if err != nil {
		var legacy bool
		if legacy, err = r.blockTables(ctx, err); legacy {
			return r.legacyEdgeBlocks(ctx, name, everyMs)
		}
		return oldest, newest, false, err
	}
	edge := func(s eraSeries, last bool) (core.TierBlock, bool, error) {
		var g syncdb.RechistTierBlock
		var err error
		if last {
			g, err = q.LastTierBlock(ctx, syncdb.LastTierBlockParams{FromKey: s.from, ToKey: s.to})
		} else {
			g, err = q.FirstTierBlock(ctx, syncdb.FirstTierBlockParams{FromKey: s.from, ToKey: s.to})
		}
		if errors.Is(err, sql.ErrNoRows) {
			return core.TierBlock{}, false, nil
		}
		return core.TierBlock{Name: name, EveryMs: everyMs, BlockMs: blockMsOf(g.BlockKey, s.era, everyMs), Data: g.Data}, err == nil, err
	}
	for i := 0; i < len(ss) && !ok && err == nil; i++ {
		oldest, ok, err = edge(ss[i], false)
	}
	found := false
	for i := len(ss) - 1; i >= 0 && !found && err == nil; i-- {
		newest, found, err = edge(ss[i], true)
	}
	return oldest, newest, ok && found && err == nil, err
}

// legacyEdgeBlocks is EdgeBlocks on a file before 00011.
func (r *reader) legacyEdgeBlocks(ctx context.Context, name string, everyMs int64) (oldest, newest core.TierBlock, ok bool, err error) {
	q := legacydb.New(r.conn)
	o, err := q.RollupOldestBlock(ctx, legacydb.RollupOldestBlockParams{Name: name, EveryMs: everyMs})
	if err == nil {
		var n legacydb.RollupNewestBlockRow
		n, err = q.RollupNewestBlock(ctx, legacydb.RollupNewestBlockParams{Name: name, EveryMs: everyMs})
		newest = core.TierBlock{Name: name, EveryMs: everyMs, BlockMs: n.BlockMs, Data: n.Data}
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return oldest, newest, false, nil
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
