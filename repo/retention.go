package repo

import (
	"context"
	"log/slog"
	"time"
)

// runRetention deletes rows older than the retention period now and then
// every CleanupInterval, until ctx ends.
func (e *Engine) runRetention(ctx context.Context) {
	defer e.bgWG.Done()
	RunRetention(ctx, e.cfg, e.Cleanup)
}

// RunRetention calls cleanup with the cutoff cfg.Retention before now, at
// once and then every cfg.CleanupInterval, until ctx ends; engines run it
// on a goroutine of their own when cfg.Retention is set.
func RunRetention(ctx context.Context, cfg Config, cleanup func(ctx context.Context, cutoffMs int64) (int64, error)) {
	tick := time.NewTicker(cfg.CleanupInterval)
	defer tick.Stop()
	for {
		cutoff := cfg.Now().Add(-cfg.Retention)
		n, err := cleanup(ctx, max(cutoff.UnixMilli(), 0))
		switch {
		case err != nil && ctx.Err() == nil:
			cfg.Logger.Warn("rechist: retention cleanup failed",
				slog.Int64(logKeyDeleted, n), slog.Any(logKeyError, err))
		case err == nil:
			cfg.Logger.Debug("rechist: retention cleanup",
				slog.Int64(logKeyDeleted, n), slog.Time(logKeyCutoff, cutoff))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
