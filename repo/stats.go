package repo

import "sync/atomic"

// Stats is a snapshot of an engine's counters since Open.
type Stats struct {
	// Requests is the number of store requests accepted (one per Store,
	// one per StoreMany).
	Requests int64
	// RowsWritten is the number of rows committed.
	RowsWritten int64
	// Batches is the number of write transactions the writer committed or
	// attempted; RowsWritten/Batches is the mean group-commit size.
	Batches int64
	// WriteErrors is the number of requests that failed in the writer.
	WriteErrors int64
	// Abandoned is the number of requests whose caller gave up (ctx) while
	// they were still queued; none of them was written.
	Abandoned int64
	// SkippedRows is the number of rows a query skipped because their JSON
	// did not decode into the requested type.
	SkippedRows int64
	// Cleanups is the number of completed cleanups (on demand or retention).
	Cleanups int64
	// RowsDeleted is the number of rows deleted by cleanups.
	RowsDeleted int64
	// WALRewinds is how many times the writer helped the background
	// checkpointer so the WAL could start over from its beginning.
	WALRewinds int64
	// QueueDepth is the number of requests waiting for the writer now, out
	// of QueueCapacity.
	QueueDepth, QueueCapacity int
}

type counters struct {
	requests, rowsWritten, batches, writeErrors, abandoned atomic.Int64
	skippedRows, cleanups, rowsDeleted                     atomic.Int64
}

// Stats returns the current counters.
func (e *Engine) Stats() Stats {
	var rewinds int64
	if e.ckpt != nil {
		rewinds = e.ckpt.rewinds.Load()
	}
	return Stats{
		WALRewinds:    rewinds,
		Requests:      e.stats.requests.Load(),
		RowsWritten:   e.stats.rowsWritten.Load(),
		Batches:       e.stats.batches.Load(),
		WriteErrors:   e.stats.writeErrors.Load(),
		Abandoned:     e.stats.abandoned.Load(),
		SkippedRows:   e.stats.skippedRows.Load(),
		Cleanups:      e.stats.cleanups.Load(),
		RowsDeleted:   e.stats.rowsDeleted.Load(),
		QueueDepth:    len(e.queue),
		QueueCapacity: cap(e.queue),
	}
}

// CountSkipped adds n to Stats.SkippedRows; the typed layer calls it for
// rows it could not decode.
func (e *Engine) CountSkipped(n int64) { e.stats.skippedRows.Add(n) }
