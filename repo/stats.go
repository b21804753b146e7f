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
	st := e.w.Stats()
	st.WALRewinds = rewinds
	return st
}

// CountSkipped adds n to Stats.SkippedRows; the typed layer calls it for
// rows it could not decode.
func (e *Engine) CountSkipped(n int64) { e.w.CountSkipped(n) }

// Stats returns the writer's counters (WALRewinds is the engine's).
func (w *Writer) Stats() Stats {
	return Stats{
		Requests:      w.stats.requests.Load(),
		RowsWritten:   w.stats.rowsWritten.Load(),
		Batches:       w.stats.batches.Load(),
		WriteErrors:   w.stats.writeErrors.Load(),
		Abandoned:     w.stats.abandoned.Load(),
		SkippedRows:   w.stats.skippedRows.Load(),
		Cleanups:      w.stats.cleanups.Load(),
		RowsDeleted:   w.stats.rowsDeleted.Load(),
		QueueDepth:    len(w.queue),
		QueueCapacity: cap(w.queue),
	}
}

// CountSkipped adds n to Stats.SkippedRows.
func (w *Writer) CountSkipped(n int64) { w.stats.skippedRows.Add(n) }
