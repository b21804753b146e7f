package core

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"time"
)

// runRetention applies retention (ApplyRetention: the stored policies and
// cfg.Retention) every cfg.CleanupInterval until ctx ends, and at once
// when cfg.Retention is set. A pass cut short by Close
// (ctx ended, or the DB closed) is not a failure and is not logged as one.
func (db *DB) runRetention(ctx context.Context) {
	tick := time.NewTicker(db.cfg.CleanupInterval)
	defer tick.Stop()
	// Only a handle opened with a retention of its own runs a pass at
	// Open; any other waits one interval first, so a short-lived program
	// (a command that stores a row, or that sets a policy) never deletes
	// as a side effect of opening the file.
	pass := db.cfg.Retention > 0
	for {
		if pass {
			db.retentionPass(ctx)
		}
		pass = true
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// retentionPass applies the retention policies and Config.Retention once.
func (db *DB) retentionPass(ctx context.Context) {
	cfg := db.cfg
	n, err := db.applyRetention(ctx)
	switch {
	case err != nil && ctx.Err() == nil && !errors.Is(err, ErrClosed):
		cfg.Logger.Warn("rechist: retention cleanup failed",
			slog.Int64(LogKeyDeleted, n), slog.Any(LogKeyError, err))
	case err == nil:
		cfg.Logger.Debug("rechist: retention cleanup", slog.Int64(LogKeyDeleted, n))
	}
}

// ApplyRetention deletes now what retention deletes: each record's raw
// rows older than its policy's raw keep (the most specific stored policy
// whose pattern matches it, PolicyFor), and the rows of records no policy
// matches older than Config.Retention (none when it is zero). Deletes are
// chunked, each chunk a transaction of its own; it returns the rows
// deleted, with the error that stopped it.
func (db *DB) ApplyRetention(ctx context.Context) (int64, error) {
	const op = "retention"
	n, err := db.applyRetention(ctx)
	return n, Wrap(op, err, db.eng.Classify)
}

func (db *DB) applyRetention(ctx context.Context) (int64, error) {
	if err := db.writable("retention"); err != nil {
		return 0, err
	}
	n, err := db.retentionDelete(ctx)
	if err == nil {
		db.w.stats.retentionPasses.Add(1)
	}
	return n, err
}

// retentionDelete deletes what a retention pass deletes.
func (db *DB) retentionDelete(ctx context.Context) (int64, error) {
	pols, err := db.Policies(ctx)
	if err != nil {
		return 0, err
	}
	now := db.cfg.Now()
	if len(pols) == 0 {
		if db.cfg.Retention <= 0 {
			return 0, nil
		}
		// One policy for every record: the engine's cleanup, which
		// walks the time index once.
		return db.cleanup(ctx, max(now.Add(-db.cfg.Retention).UnixMilli(), 0))
	}
	var total int64
	if hasTiers(pols) {
		// The raw rows retention deletes must be in the tiers first
		// (not the tiers still to fill: their records' raw rows stay).
		if _, err := db.rollUp(ctx, false); err != nil {
			return 0, err
		}
	} else if total, err = db.dropPartitionsForAll(ctx, pols, now); err != nil {
		return total, err
	}
	err = db.retentionCutoffs(ctx, pols, now, func(name string, pol Policy, cutoffMs int64) error {
		if len(pol.Tiers) > 0 {
			n, err := db.deleteRolledUp(ctx, name, pol, cutoffMs, now.UnixMilli())
			total += n
			return err
		}
		if cutoffMs <= 0 {
			return nil
		}
		old := Range{StartMs: 0, EndMs: cutoffMs - 1, LimitPerRecord: 1}
		found := false
		err := db.readOne("retention", func(rd Reader) error {
			return rd.Rows(ctx, name, old, func(Row) bool { found = true; return false })
		})
		if err != nil || !found {
			return err
		}
		old.LimitPerRecord = 0
		n, err := db.w.deleteRange(ctx, name, old)
		total += n
		return err
	})
	if err == nil {
		db.w.stats.cleanups.Add(1)
	}
	return total, err
}

// RetentionPlan is what a retention pass would delete now.
type RetentionPlan struct {
	Rows, Records int64
}

// PlanRetention counts what ApplyRetention would delete now if pols were
// the stored policies, and changes nothing: the dry run of a policy
// change. It streams the rows it counts.
func (db *DB) PlanRetention(ctx context.Context, pols []Policy) (RetentionPlan, error) {
	const op = "retention"
	for _, pol := range pols {
		if _, err := compilePolicy(op, pol); err != nil {
			return RetentionPlan{}, err
		}
	}
	var plan RetentionPlan
	err := db.retentionCutoffs(ctx, pols, db.cfg.Now(), func(name string, _ Policy, cutoffMs int64) error {
		if cutoffMs <= 0 {
			return nil
		}
		var n int64
		err := db.readOne(op, func(rd Reader) error {
			return rd.Rows(ctx, name, Range{StartMs: 0, EndMs: cutoffMs - 1}, func(Row) bool { n++; return true })
		})
		if n > 0 {
			plan.Rows += n
			plan.Records++
		}
		return err
	})
	return plan, err
}

// dropPartitionsForAll removes, on an engine with partitions, those older
// than every record's cutoff under pols (none when a record keeps its rows
// for ever), before the records' own passes delete the rest.
func (db *DB) dropPartitionsForAll(ctx context.Context, pols []Policy, now time.Time) (int64, error) {
	if pd, ok := db.eng.(PartitionDropper); !ok || !pd.Partitioned() {
		return 0, nil
	}
	all := int64(math.MaxInt64)
	err := db.eachCutoff(ctx, pols, now, func(_ string, _ Policy, cutoffMs int64) error {
		all = min(all, cutoffMs)
		return nil
	})
	if err != nil || all == math.MaxInt64 {
		return 0, err
	}
	return db.dropPartitions(ctx, all)
}

// retentionCutoffs is eachCutoff for the records that have a cutoff or
// tiers.
func (db *DB) retentionCutoffs(ctx context.Context, pols []Policy, now time.Time, fn func(name string, pol Policy, cutoffMs int64) error) error {
	return db.eachCutoff(ctx, pols, now, func(name string, pol Policy, cutoffMs int64) error {
		if cutoffMs > 0 || len(pol.Tiers) > 0 {
			return fn(name, pol, cutoffMs)
		}
		return nil
	})
}

// eachCutoff calls fn with every record name, its policy (the zero
// Policy when none governs it) and the time before which retention
// deletes its raw rows under pols and Config.Retention (0: none). Names
// are read a page at a time, each page a snapshot of its own, so no read
// lasts the whole pass.
func (db *DB) eachCutoff(ctx context.Context, pols []Policy, now time.Time, fn func(name string, pol Policy, cutoffMs int64) error) error {
	set, skipped := newPolicySet(pols)
	for _, pol := range skipped {
		db.cfg.Logger.Warn("rechist: a retention policy this version cannot read is ignored",
			slog.String("pattern", pol.Pattern), slog.String("language", pol.Lang.String()))
	}
	all, err := CompilePattern("retention", "*")
	if err != nil {
		return err
	}
	after := ""
	for {
		var names []string
		err := db.readOne("retention", func(rd Reader) (err error) {
			names, err = rd.Names(ctx, all, after, namesPage)
			return err
		})
		if err != nil {
			return err
		}
		for _, name := range names {
			keep := db.cfg.Retention.Milliseconds()
			pol, ok := set.forName(name)
			if ok {
				keep = pol.RawKeepMs
			}
			cutoff := int64(0)
			if keep > 0 {
				cutoff = max(now.UnixMilli()-keep, 0)
			}
			if err := fn(name, pol, cutoff); err != nil {
				return err
			}
		}
		if len(names) < namesPage {
			return nil
		}
		after = names[len(names)-1]
	}
}
