package rechist

// Stats is a snapshot of a DB's counters since [Open]; see [DB.Stats].
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
	// RetentionPasses is the number of completed retention passes (the
	// background job's and ApplyRetention's), whether or not they had
	// anything to delete.
	RetentionPasses int64
	// WALRewinds is how many times the SQLite writer helped the background
	// checkpointer so the WAL could start over from its beginning; zero on
	// PostgreSQL.
	WALRewinds int64
	// QueueDepth is the number of requests waiting for the writer now, out
	// of QueueCapacity (see [WithQueueSize]).
	QueueDepth, QueueCapacity int
}

// Stats returns the DB's counters: rows written, batches, skipped rows,
// queue depth and more.
func (db *DB) Stats() Stats {
	s := db.core.Stats()
	return Stats{
		Requests:        s.Requests,
		RowsWritten:     s.RowsWritten,
		Batches:         s.Batches,
		WriteErrors:     s.WriteErrors,
		Abandoned:       s.Abandoned,
		SkippedRows:     s.SkippedRows,
		Cleanups:        s.Cleanups,
		RowsDeleted:     s.RowsDeleted,
		RetentionPasses: s.RetentionPasses,
		WALRewinds:      s.WALRewinds,
		QueueDepth:      s.QueueDepth,
		QueueCapacity:   s.QueueCapacity,
	}
}
