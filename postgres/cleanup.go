package postgres

import (
	"context"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/postgres/internal/db"
)

// cleanupWindowRows is about how many rows a cleanup's window holds (see
// CleanupWindowEnd): a few thousand heap pages, a few tens of MB, which
// stay in shared buffers while the window's chunks delete record by
// record.
var cleanupWindowRows int64 = 200_000

var _ core.CleanupWindower = (*engine)(nil)

// CleanupWindowEnd is core.CleanupWindower's: the time of the
// cleanupWindowRows-th row from startMs on (CleanupWindowEnd, the query),
// on a connection of the pool, outside the writer.
func (e *engine) CleanupWindowEnd(ctx context.Context, startMs, cutoffMs int64) (int64, error) {
	return e.q.CleanupWindowEnd(ctx, db.CleanupWindowEndParams{StartMs: startMs, CutoffMs: cutoffMs, WindowRows: cleanupWindowRows})
}
