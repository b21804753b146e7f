package core

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// runRetention deletes the rows older than cfg.Retention at once and then
// every cfg.CleanupInterval, until ctx ends. A pass cut short by Close
// (ctx ended, or the DB closed) is not a failure and is not logged as one.
func (db *DB) runRetention(ctx context.Context) {
	tick := time.NewTicker(db.cfg.CleanupInterval)
	defer tick.Stop()
	for {
		db.retentionPass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// retentionPass deletes the rows older than the retention period once.
func (db *DB) retentionPass(ctx context.Context) {
	cfg := db.cfg
	cutoff := cfg.Now().Add(-cfg.Retention)
	n, err := db.cleanup(ctx, max(cutoff.UnixMilli(), 0))
	switch {
	case err != nil && ctx.Err() == nil && !errors.Is(err, ErrClosed):
		cfg.Logger.Warn("rechist: retention cleanup failed",
			slog.Int64(LogKeyDeleted, n), slog.Any(LogKeyError, err))
	case err == nil:
		cfg.Logger.Debug("rechist: retention cleanup",
			slog.Int64(LogKeyDeleted, n), slog.Time(LogKeyCutoff, cutoff))
	}
}
