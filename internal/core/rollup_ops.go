package core

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"time"
)

// MaxTiers is how many tiers a policy may have.
const MaxTiers = 8

// checkTiers says what is wrong with a policy's tiers: each at least a
// second wide and a whole number of seconds, each a multiple of the one
// before (so a coarser bucket is a union of finer ones), kept forever (0)
// or at least as long as it is wide.
func checkTiers(op, pattern string, tiers []Tier) error {
	if len(tiers) > MaxTiers {
		return Invalidf(op, "policy %q: at most %d tiers, got %d", pattern, MaxTiers, len(tiers))
	}
	for i, t := range tiers {
		every, keep := time.Duration(t.EveryMs)*time.Millisecond, time.Duration(t.KeepMs)*time.Millisecond
		switch {
		case t.EveryMs < 1000 || t.EveryMs%1000 != 0:
			return Invalidf(op, "policy %q: a tier's width must be whole seconds, at least 1s, got %v", pattern, every)
		case t.EveryMs > 366*24*time.Hour.Milliseconds():
			return Invalidf(op, "policy %q: a tier's width must be at most 366 days, got %v", pattern, every)
		case t.KeepMs < 0 || t.KeepMs > MaxRawKeep.Milliseconds():
			return Invalidf(op, "policy %q: a tier's keep must be between 0 (forever) and %v, got %v", pattern, MaxRawKeep, keep)
		case t.KeepMs != 0 && t.KeepMs < t.EveryMs:
			return Invalidf(op, "policy %q: the %v tier must be kept at least %v (or forever), got %v", pattern, every, every, keep)
		case i > 0 && (t.EveryMs <= tiers[i-1].EveryMs || t.EveryMs%tiers[i-1].EveryMs != 0):
			return Invalidf(op, "policy %q: each tier must be a multiple of the one before, wider: %v after %v",
				pattern, every, time.Duration(tiers[i-1].EveryMs)*time.Millisecond)
		}
	}
	return nil
}

// submitTiers runs fn in a KindTiers request.
func (db *DB) submitTiers(ctx context.Context, fn func(ctx context.Context, s TierStore) (int64, error)) (int64, error) {
	r := newRequest(KindTiers)
	r.Tiers = fn
	return db.w.submit(ctx, r)
}

// RollUp rolls every row past the cursor into the tiers, a step
// (rollupRows rows) a transaction, then fills the tiers a policy change
// marked (fillTiers), and returns how many rows it rolled up. Every
// writing handle does it in the background after it stores rows (and
// before retention deletes any); tests and tools call it to be sure.
func (db *DB) RollUp(ctx context.Context) (int64, error) {
	n, err := db.rollUp(ctx, false)
	if err == nil {
		err = Wrap("rollup", db.fillTiers(ctx), db.eng.Classify)
	}
	return n, err
}

// rollUp is RollUp's steps, without the fills (retention needs only the
// rows rolled up: it keeps the raw rows of a record with a tier to fill);
// a pass (the background's) rolls up only the rows
// stored before it began: those stored meanwhile wait for the next pass
// (their stores asked for one), rather than a step each few hundred
// milliseconds chasing the writer, each writing a block per record and
// tier for a few rows (Store from 64 goroutines for 5 s with two tiers:
// 0.60x of no tiers chasing, docs/performance.md).
func (db *DB) rollUp(ctx context.Context, pass bool) (int64, error) {
	const op = "rollup"
	if err := db.writable(op); err != nil {
		return 0, err
	}
	upTo := int64(math.MaxInt64) // a pass's: the newest row when it began
	var total int64
	for first := true; ; first = false {
		now := db.cfg.Now().UnixMilli()
		var cursor int64
		n, err := db.submitTiers(ctx, func(ctx context.Context, s TierStore) (int64, error) {
			if pass && first {
				var err error
				if upTo, err = s.MaxID(ctx); err != nil {
					return 0, err
				}
			}
			n, err := rollupStep(ctx, s, now, rollupRows)
			if err == nil && n > 0 {
				cursor, _, err = s.RollupCursor(ctx)
			}
			return n, err
		})
		total += n
		if err != nil {
			return total, Wrap(op, err, db.eng.Classify)
		}
		if n == 0 || cursor >= upTo {
			return total, nil
		}
	}
}

// fillTiers fills the tiers marked to be filled from raw rows, one record
// and tier a transaction (fillStep), until none is left.
func (db *DB) fillTiers(ctx context.Context) error {
	for {
		now := db.cfg.Now().UnixMilli()
		n, err := db.submitTiers(ctx, func(ctx context.Context, s TierStore) (int64, error) {
			return fillStep(ctx, s, now)
		})
		if err != nil || n == 0 {
			return err
		}
	}
}

// kickRollup asks the background rollup for a pass, without waiting.
func (db *DB) kickRollup() {
	if db.rollupKick != nil {
		select {
		case db.rollupKick <- struct{}{}:
		default:
		}
	}
}

// rollupDelay is how long the background rollup gathers stores before a
// pass, so that one pass takes many rows: a pass writes one block per
// record and tier whatever the rows, so its cost per second of stores
// falls with the delay (Store from 64 goroutines into 1,000 records with
// two tiers: 0.71x of no tiers at 1 s). Aggregate adds the rows not
// rolled up yet from the raw rows, so the delay never shows in an answer.
const rollupDelay = 3 * time.Second

// fillRetryMin and fillRetryMax bound how long the background pass waits
// before it tries again a fill that failed, doubling from one to the
// other.
const (
	fillRetryMin = time.Minute
	fillRetryMax = time.Hour
)

// runRollups rolls up in the background after stores, until ctx ends.
func (db *DB) runRollups(ctx context.Context) {
	var fillAt time.Time // no fill before
	fillWait := fillRetryMin
	for {
		select {
		case <-ctx.Done():
			return
		case <-db.rollupKick:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(rollupDelay):
		}
		pols, err := db.Policies(ctx)
		if err != nil || !hasTiers(pols) {
			continue
		}
		_, err = db.rollUp(ctx, true)
		if err == nil && !time.Now().Before(fillAt) {
			if err = db.fillTiers(ctx); err != nil {
				// A fill that failed (one record's rows past the batch
				// timeout, say) is tried again later, not every pass:
				// each try holds the writer.
				fillAt, fillWait = time.Now().Add(fillWait), min(2*fillWait, fillRetryMax)
			} else {
				fillWait = fillRetryMin
			}
		}
		if err != nil && ctx.Err() == nil && !errors.Is(err, ErrClosed) {
			db.cfg.Logger.Warn("rechist: rollup failed", slog.Any(LogKeyError, err))
		}
	}
}

// deleteRolledUp deletes the raw rows of the record name stored before
// cutoffMs that the tiers include, chunk by chunk, moving the record's
// horizon, and then the buckets its tiers no longer keep.
func (db *DB) deleteRolledUp(ctx context.Context, name string, pol Policy, cutoffMs, nowMs int64) (int64, error) {
	chunk := int64(db.cfg.CleanupChunk)
	var total int64
	for cutoffMs > 0 {
		n, err := db.submitTiers(ctx, func(ctx context.Context, s TierStore) (int64, error) {
			cursor, ok, err := s.RollupCursor(ctx)
			if err != nil || !ok {
				return 0, err
			}
			// A tier still to fill from the raw rows needs them all.
			if marked, err := s.FillWidths(ctx, name); err != nil || len(marked) > 0 {
				return 0, err
			}
			n, err := s.DeleteRolledUp(ctx, name, cutoffMs, cursor, chunk)
			if err != nil || n == 0 {
				return n, err
			}
			h, err := s.Horizon(ctx, name)
			if err != nil {
				return 0, err
			}
			if cutoffMs > h {
				err = s.SetHorizon(ctx, name, cutoffMs)
			}
			return n, err
		})
		db.w.stats.rowsDeleted.Add(n)
		total += n
		if err != nil {
			return total, err
		}
		if n < chunk {
			break
		}
	}
	_, err := db.submitTiers(ctx, func(ctx context.Context, s TierStore) (int64, error) {
		for _, t := range pol.Tiers {
			if err := expireBuckets(ctx, s, name, t, nowMs); err != nil {
				return 0, err
			}
		}
		return 0, nil
	})
	return total, err
}

// deleteWithTiers deletes the rows of the record name within r, chunk by
// chunk, each chunk's transaction first taking the range out of the
// record's buckets (adjustForDelete: again in every chunk, for rows that
// rolled up in between).
func (db *DB) deleteWithTiers(ctx context.Context, name string, r Range) (int64, error) {
	chunk := int64(db.cfg.CleanupChunk)
	var total int64
	for {
		n, err := db.submitTiers(ctx, func(ctx context.Context, s TierStore) (int64, error) {
			if err := adjustForDelete(ctx, s, name, r.StartMs, r.EndMs); err != nil {
				return 0, err
			}
			return s.DeleteRange(ctx, name, r.StartMs, r.EndMs, chunk)
		})
		db.w.stats.rowsDeleted.Add(n)
		total += n
		if err != nil || n < chunk {
			return total, err
		}
	}
}

// adjustForDelete takes the rows of name within [startMs, endMs] out of
// its buckets: a bucket wholly within the range goes; one partly within
// it is summed again from the raw rows the tiers include, outside the
// range, when they are all still there (its tier complete and the raw
// rows not deleted by retention from its start on). A bucket partly
// within the range whose raw rows retention deleted keeps what it holds:
// the rows it summarises cannot be told apart any more.
func adjustForDelete(ctx context.Context, s TierStore, name string, startMs, endMs int64) error {
	widths, err := s.TierWidths(ctx, name)
	if err != nil || len(widths) == 0 {
		return err
	}
	cursor, ok, err := s.RollupCursor(ctx)
	if err != nil || !ok {
		return err
	}
	h, err := s.Horizon(ctx, name)
	if err != nil {
		return err
	}
	for _, w := range widths {
		from, _, err := s.TierFrom(ctx, name, w)
		if err != nil {
			return err
		}
		changed := map[*block]bool{}
		var order []*block
		err = eachBucket(ctx, s, name, w, bucketStart(startMs, w), bucketStart(endMs, w), func(b *block, slot int, _ RollupState) error {
			at := b.bucketAt(slot)
			end := at + w - 1
			switch {
			case at >= startMs && end <= endMs:
				b.set(slot, RollupState{})
			case at < h || at < from:
				return nil // raw rows gone: kept as it is (see above)
			default:
				var st RollupState
				err := s.RecordRows(ctx, name, at, end, cursor, func(row Row) bool {
					if row.StoredAt < startMs || row.StoredAt > endMs {
						st.Add(row)
					}
					return true
				})
				if err != nil {
					return err
				}
				b.set(slot, st)
			}
			if !changed[b] {
				changed[b] = true
				order = append(order, b)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, b := range order {
			if err := storeBlock(ctx, s, name, b); err != nil {
				return err
			}
		}
	}
	return nil
}

// expireBuckets deletes the buckets of the record name's tier t whose keep
// has passed at nowMs: the blocks wholly past it, and those buckets of the
// block that holds the newest of them.
func expireBuckets(ctx context.Context, s TierStore, name string, t Tier, nowMs int64) error {
	if t.KeepMs <= 0 {
		return nil
	}
	last := bucketStart(nowMs-t.KeepMs-t.EveryMs, t.EveryMs) // the newest bucket that has expired
	if !t.expired(last, nowMs) {
		last -= t.EveryMs
	}
	at := blockStart(last, t.EveryMs)
	if _, err := s.DeleteBlocks(ctx, name, t.EveryMs, math.MinInt64, at-1); err != nil {
		return err
	}
	b, err := loadBlock(ctx, s, name, t.EveryMs, at)
	if err != nil {
		return err
	}
	dirty := false
	for slot := range blockBuckets {
		if b.slots[slot] != nil && b.bucketAt(slot) <= last {
			b.set(slot, RollupState{})
			dirty = true
		}
	}
	if !dirty {
		return nil
	}
	return storeBlock(ctx, s, name, b)
}
