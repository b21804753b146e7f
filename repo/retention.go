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
	tick := time.NewTicker(e.cfg.CleanupInterval)
	defer tick.Stop()
	for {
		cutoff := e.cfg.Now().Add(-e.cfg.Retention)
		n, err := e.Cleanup(ctx, max(cutoff.UnixMilli(), 0))
		switch {
		case err != nil && ctx.Err() == nil:
			e.cfg.Logger.Warn("rechist: retention cleanup failed",
				slog.Int64(logKeyDeleted, n), slog.Any(logKeyError, err))
		case err == nil:
			e.cfg.Logger.Debug("rechist: retention cleanup",
				slog.Int64(logKeyDeleted, n), slog.Time(logKeyCutoff, cutoff))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
