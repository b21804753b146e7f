package repo

import (
	"context"
	"log/slog"
	"time"
)

// Cleanup deletes every row stored before cutoffMs (Unix ms, exclusive) and
// returns how many it deleted. It deletes in chunks of at most CleanupChunk
// rows, each a transaction of its own on the writer, so stores queued
// meanwhile are committed between chunks instead of waiting for the whole
// cleanup. If ctx ends or the engine closes between chunks, Cleanup returns
// the rows deleted so far with the error.
func (e *Engine) Cleanup(ctx context.Context, cutoffMs int64) (int64, error) {
	if cutoffMs < 0 {
		return 0, Invalidf("cleanup", "cutoff %d ms is before the Unix epoch", cutoffMs)
	}
	var total int64
	for {
		r := newRequest()
		r.cutoff, r.chunk = cutoffMs, int64(e.cfg.CleanupChunk)
		n, err := e.submit(ctx, r)
		total += n
		if err != nil {
			return total, err
		}
		if n < r.chunk {
			e.stats.cleanups.Add(1)
			return total, nil
		}
	}
}

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
