package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/postgres/internal/db"
)

// The rollup tiers' SQL (queries/rollup.sql, migration 00004): the write
// side (tierStore) on the batch's transaction, the read side (TierReader)
// on a reader's snapshot or the pool. Their tables may be missing only in
// a schema opened read-only that predates them, so only the reader treats
// a missing table as empty.

var _ core.TierStore = (*tierStore)(nil)

// tierStore is core.TierStore on a KindTiers request's write transaction.
type tierStore struct {
	tx pgx.Tx
	q  *db.Queries
}

func (s *tierStore) Policies(ctx context.Context) ([]core.Policy, error) {
	got, err := s.q.Policies(ctx)
	if err != nil {
		return nil, err
	}
	return policiesOf(got)
}

func (s *tierStore) SetPolicy(ctx context.Context, p core.Policy) error {
	return s.q.SetPolicy(ctx, db.SetPolicyParams{Pattern: p.Pattern, Language: p.Lang.String(), RawKeepMs: p.RawKeepMs,
		SetAtMs: p.SetAtMs, Tiers: core.FormatTiers(p.Tiers)})
}

func (s *tierStore) RemovePolicy(ctx context.Context, pattern string, lang core.Language) (bool, error) {
	n, err := s.q.RemovePolicy(ctx, db.RemovePolicyParams{Pattern: pattern, Language: lang.String()})
	return n > 0, err
}

func (s *tierStore) RollupCursor(ctx context.Context) (int64, bool, error) {
	return rollupCursor(ctx, s.q)
}

func rollupCursor(ctx context.Context, q *db.Queries) (int64, bool, error) {
	id, err := q.RollupCursor(ctx)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

func (s *tierStore) SetRollupCursor(ctx context.Context, id int64) error {
	return s.q.SetRollupCursor(ctx, id)
}

func (s *tierStore) MaxID(ctx context.Context) (int64, error) { return s.q.LastID(ctx) }

func (s *tierStore) RowsAfter(ctx context.Context, after int64, limit int) ([]core.Row, error) {
	rows, err := s.tx.Query(ctx, db.ChangesAfter, after, int64(limit))
	if err != nil {
		return nil, err
	}
	var out []core.Row
	err = yieldRows(rows, func(r core.Row) bool { out = append(out, r); return true })
	return out, err
}

func (s *tierStore) RecordRows(ctx context.Context, name string, fromMs, toMs, maxID int64, yield func(core.Row) bool) error {
	return recordRowsByID(ctx, s.tx, name, fromMs, toMs, minID, maxID, yield)
}

// minID is below every id.
const minID = -1 << 63

// recordRowsByID streams RecordRowsByID on conn.
func recordRowsByID(ctx context.Context, conn db.DBTX, name string, fromMs, toMs, aboveID, uptoID int64, yield func(core.Row) bool) error {
	rows, err := conn.Query(ctx, db.RecordRowsByID, name, fromMs, toMs, aboveID, uptoID)
	if err != nil {
		return err
	}
	return yieldRows(rows, yield)
}

func (s *tierStore) Names(ctx context.Context, after string, limit int) ([]string, error) {
	return s.q.NamesAfterOpen(ctx, db.NamesAfterOpenParams{Lo: "", After: after, Page: int64(limit)})
}

func (s *tierStore) Blocks(ctx context.Context, name string, everyMs, fromMs, toMs int64) ([]core.TierBlock, error) {
	return blocks(ctx, s.q, name, everyMs, fromMs, toMs)
}

func blocks(ctx context.Context, q *db.Queries, name string, everyMs, fromMs, toMs int64) ([]core.TierBlock, error) {
	got, err := q.RollupBlocks(ctx, db.RollupBlocksParams{Name: name, EveryMs: everyMs, FromMs: fromMs, ToMs: toMs})
	if err != nil {
		return nil, err
	}
	out := make([]core.TierBlock, len(got))
	for i, g := range got {
		out[i] = core.TierBlock{Name: name, EveryMs: everyMs, BlockMs: g.BlockMs, Data: g.Data}
	}
	return out, nil
}

func (s *tierStore) BlocksAt(ctx context.Context, keys []core.TierBlock) ([]core.TierBlock, error) {
	arg := db.RollupBlocksAtParams{Names: make([]string, len(keys)), Everys: make([]int64, len(keys)), Ats: make([]int64, len(keys))}
	for i, k := range keys {
		arg.Names[i], arg.Everys[i], arg.Ats[i] = k.Name, k.EveryMs, k.BlockMs
	}
	got, err := s.q.RollupBlocksAt(ctx, arg)
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
	arg := db.PutRollupBlocksParams{Names: make([]string, len(bs)), Everys: make([]int64, len(bs)),
		Ats: make([]int64, len(bs)), Datas: make([][]byte, len(bs))}
	for i, b := range bs {
		arg.Names[i], arg.Everys[i], arg.Ats[i], arg.Datas[i] = b.Name, b.EveryMs, b.BlockMs, b.Data
	}
	return s.q.PutRollupBlocks(ctx, arg)
}

func (s *tierStore) PutBlock(ctx context.Context, b core.TierBlock) error {
	return s.q.PutRollupBlock(ctx, db.PutRollupBlockParams{Name: b.Name, EveryMs: b.EveryMs, BlockMs: b.BlockMs, Data: b.Data})
}

func (s *tierStore) DeleteBlocks(ctx context.Context, name string, everyMs, fromMs, toMs int64) (int64, error) {
	return s.q.DeleteRollupBlocks(ctx, db.DeleteRollupBlocksParams{Name: name, EveryMs: everyMs, FromMs: fromMs, ToMs: toMs})
}

func (s *tierStore) TierWidths(ctx context.Context, name string) ([]int64, error) {
	return s.q.RollupWidths(ctx, name)
}

func (s *tierStore) TierFrom(ctx context.Context, name string, everyMs int64) (int64, bool, error) {
	return tierFrom(ctx, s.q, name, everyMs)
}

func tierFrom(ctx context.Context, q *db.Queries, name string, everyMs int64) (int64, bool, error) {
	from, err := q.RollupTierFrom(ctx, db.RollupTierFromParams{Name: name, EveryMs: everyMs})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return from, err == nil, err
}

func (s *tierStore) SetTier(ctx context.Context, name string, everyMs, fromMs int64) error {
	return s.q.SetRollupTier(ctx, db.SetRollupTierParams{Name: name, EveryMs: everyMs, FromMs: fromMs})
}

func (s *tierStore) DeleteTier(ctx context.Context, name string, everyMs int64) error {
	if err := s.q.DeleteRollupTierBlocks(ctx, db.DeleteRollupTierBlocksParams{Name: name, EveryMs: everyMs}); err != nil {
		return err
	}
	return s.q.DeleteRollupTier(ctx, db.DeleteRollupTierParams{Name: name, EveryMs: everyMs})
}

func (s *tierStore) MarkFill(ctx context.Context, name string, everyMs int64) error {
	return s.q.AddRollupFill(ctx, db.AddRollupFillParams{Name: name, EveryMs: everyMs})
}

func (s *tierStore) UnmarkFill(ctx context.Context, name string, everyMs int64) error {
	return s.q.DeleteRollupFill(ctx, db.DeleteRollupFillParams{Name: name, EveryMs: everyMs})
}

func (s *tierStore) FillWidths(ctx context.Context, name string) ([]int64, error) {
	return s.q.RollupFillWidths(ctx, name)
}

func (s *tierStore) FirstFill(ctx context.Context) (string, int64, bool, error) {
	f, err := s.q.FirstRollupFill(ctx)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", 0, false, nil
	}
	return f.RecordName, f.EveryMs, err == nil, err
}

func (s *tierStore) DeleteRolledUp(ctx context.Context, name string, cutoffMs, maxID, limit int64) (int64, error) {
	return s.q.DeleteRolledUpChunk(ctx, db.DeleteRolledUpChunkParams{Name: name, CutoffMs: cutoffMs, MaxID: maxID, ChunkSize: limit})
}

func (s *tierStore) DeleteRange(ctx context.Context, name string, fromMs, toMs, limit int64) (int64, error) {
	d, err := s.q.DeleteRecordRangeChunk(ctx, db.DeleteRecordRangeChunkParams{Name: name, StartMs: fromMs, EndMs: toMs, ChunkSize: limit})
	return d.N, err
}

func (s *tierStore) Horizon(ctx context.Context, name string) (int64, error) {
	return horizon(ctx, s.q, name)
}

func horizon(ctx context.Context, q *db.Queries, name string) (int64, error) {
	h, err := q.RollupHorizon(ctx, name)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return h, err
}

func (s *tierStore) SetHorizon(ctx context.Context, name string, ms int64) error {
	return s.q.SetRollupHorizon(ctx, db.SetRollupHorizonParams{Name: name, BeforeMs: ms})
}

// The reader's TierReader: a schema without the tiers' tables has none of
// them. In a read transaction it asks for the tables first (a query of a
// missing table would abort the transaction); on the pool it reads
// SQLSTATE 42P01 as none.

// noTiers says whether the reader's schema lacks the tiers' tables, or err
// is a query of them that failed for that reason.
func (r *reader) noTiers(ctx context.Context) (bool, error) {
	if _, inTx := r.conn.(pgx.Tx); !inTx {
		return false, nil
	}
	if r.tiersPresent == nil {
		present, err := r.q.TierTables(ctx)
		if err != nil {
			return false, err
		}
		r.tiersPresent = &present
	}
	return !*r.tiersPresent, nil
}

func (r *reader) RollupCursor(ctx context.Context) (int64, bool, error) {
	if none, err := r.noTiers(ctx); none || err != nil {
		return 0, false, err
	}
	id, ok, err := rollupCursor(ctx, r.q)
	if missingSchema(err) {
		return 0, false, nil
	}
	return id, ok, err
}

func (r *reader) Horizon(ctx context.Context, name string) (int64, error) {
	if none, err := r.noTiers(ctx); none || err != nil {
		return 0, err
	}
	h, err := horizon(ctx, r.q, name)
	if missingSchema(err) {
		return 0, nil
	}
	return h, err
}

// errTiersPredateBlocks is Blocks' error on a schema whose tiers are in
// migration 00004's format.
var errTiersPredateBlocks = errors.New("the schema's rollup tiers are in an earlier rechist's format: open it writable once (rechist migrate) to rebuild them")

func (r *reader) Blocks(ctx context.Context, name string, everyMs, fromMs, toMs int64) ([]core.TierBlock, error) {
	if none, err := r.noTiers(ctx); none || err != nil {
		return nil, err
	}
	b, err := blocks(ctx, r.q, name, everyMs, fromMs, toMs)
	if missingSchema(err) {
		return nil, nil
	}
	return b, err
}

func (r *reader) TierUsage(ctx context.Context) ([]core.TierUsage, error) {
	if none, err := r.noTiers(ctx); none || err != nil {
		return nil, err
	}
	got, err := r.q.RollupUsage(ctx)
	if missingSchema(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]core.TierUsage, len(got))
	for i, g := range got {
		out[i] = core.TierUsage{Name: g.RecordName, EveryMs: g.EveryMs, Blocks: g.Blocks, Bytes: g.Bytes}
	}
	return out, nil
}

func (r *reader) EdgeBlocks(ctx context.Context, name string, everyMs int64) (oldest, newest core.TierBlock, ok bool, err error) {
	if none, err := r.noTiers(ctx); none || err != nil {
		return oldest, newest, false, err
	}
	o, err := r.q.RollupOldestBlock(ctx, db.RollupOldestBlockParams{Name: name, EveryMs: everyMs})
	if err == nil {
		var n db.RollupNewestBlockRow
		n, err = r.q.RollupNewestBlock(ctx, db.RollupNewestBlockParams{Name: name, EveryMs: everyMs})
		newest = core.TierBlock{Name: name, EveryMs: everyMs, BlockMs: n.BlockMs, Data: n.Data}
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return oldest, newest, false, nil
	case missingSchema(err):
		return oldest, newest, false, errTiersPredateBlocks
	case err != nil:
		return oldest, newest, false, err
	}
	return core.TierBlock{Name: name, EveryMs: everyMs, BlockMs: o.BlockMs, Data: o.Data}, newest, true, nil
}

func (r *reader) TierWidths(ctx context.Context, name string) ([]int64, error) {
	if none, err := r.noTiers(ctx); none || err != nil {
		return nil, err
	}
	w, err := r.q.RollupWidths(ctx, name)
	if missingSchema(err) {
		return nil, nil
	}
	if err == nil && len(w) > 0 && r.tiersPresent == nil {
		// On the pool, noTiers did not look: tiers whose blocks table is
		// missing (a schema between migrations 00004 and 00005) cannot be
		// read.
		present, err := r.q.TierTables(ctx)
		if err != nil {
			return nil, err
		}
		if r.tiersPresent = &present; !present {
			return nil, errTiersPredateBlocks
		}
	}
	return w, err
}

func (r *reader) TierFrom(ctx context.Context, name string, everyMs int64) (int64, bool, error) {
	if none, err := r.noTiers(ctx); none || err != nil {
		return 0, false, err
	}
	from, ok, err := tierFrom(ctx, r.q, name, everyMs)
	if missingSchema(err) {
		return 0, false, nil
	}
	return from, ok, err
}

func (r *reader) TierNames(ctx context.Context, p core.Pattern, after string, limit int) ([]string, error) {
	if none, err := r.noTiers(ctx); none || err != nil {
		return nil, err
	}
	arg := db.RollupNamesParams{Lo: p.Prefix, After: after, Page: int64(limit)}
	if hi, bounded := upperBound(p); bounded {
		arg.Hi = pgtype.Text{String: hi, Valid: true}
	}
	names, err := r.q.RollupNames(ctx, arg)
	if missingSchema(err) {
		return nil, nil
	}
	return names, err
}

func (r *reader) RowsAbove(ctx context.Context, name string, rg core.Range, afterID int64, yield func(core.Row) bool) error {
	return recordRowsByID(ctx, r.conn, name, rg.StartMs, rg.EndMs, afterID, maxID, yield)
}

// maxID is above every id.
const maxID = 1<<63 - 1

func (s *tierStore) TierNames(ctx context.Context, p core.Pattern, after string, limit int) ([]string, error) {
	arg := db.RollupNamesParams{Lo: p.Prefix, After: after, Page: int64(limit)}
	if hi, bounded := upperBound(p); bounded {
		arg.Hi = pgtype.Text{String: hi, Valid: true}
	}
	return s.q.RollupNames(ctx, arg)
}
