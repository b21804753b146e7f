package postgres

import "time"

// SetOutcomeWait shortens how long the engine tries to learn a lost
// commit's outcome, for tests; it returns a func that restores it.
func SetOutcomeWait(d time.Duration) (restore func()) {
	old := outcomeWait
	outcomeWait = d
	return func() { outcomeWait = old }
}

// SetAheadIdle sets how long the writer's transaction open ahead waits for
// the next batch, for tests; it returns a func that restores it.
func SetAheadIdle(d time.Duration) (restore func()) {
	old := aheadIdle
	aheadIdle = d
	return func() { aheadIdle = old }
}

// SetPartitionDetachWait shortens how long a partition's detach waits for
// old snapshots, for tests; it returns a func that restores it.
func SetPartitionDetachWait(d time.Duration) (restore func()) {
	old := partitionDetachWait
	partitionDetachWait = d
	return func() { partitionDetachWait = old }
}

// The package's tests clean up in windows of 37 rows, so that every
// cleanup of more rows than that (the conformance suite's included) goes
// through several windows (deleteChunk).
func init() { cleanupWindowRows = 37 }
