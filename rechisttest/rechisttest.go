// Package rechisttest is the conformance suite every rechist engine must
// pass: the behaviour of the public API (patterns, ordering, ranges,
// limits, cleanup, retention, bad input, Close, concurrency, undecodable
// rows) checked against a real database, river-style.
//
//	func TestConformance(t *testing.T) {
//		rechisttest.Run(t, rechisttest.Harness{NewDSN: ..., InsertRaw: ...})
//	}
//
// The SQLite engine runs it in the module root's tests, the PostgreSQL
// engine in package postgres's.
package rechisttest

import "testing"

// Harness tells the suite how to reach an engine.
type Harness struct {
	// NewDSN returns what rechist.Open takes to open a new, empty database
	// of its own for one test (a file path, a postgres:// URL), and cleans
	// it up when the test ends.
	NewDSN func(t *testing.T) string
	// InsertRaw writes a row as another program would, bypassing rechist:
	// the suite uses it for rows rechist would never write.
	InsertRaw func(t *testing.T, dsn, name, valueJSON string, storedAt int64)
}

// Run runs every conformance test as a subtest of t.
func Run(t *testing.T, h Harness) {
	for _, tc := range []struct {
		name string
		test func(*testing.T, Harness)
	}{
		{"StoreAndWildcardQuery", testStoreAndWildcardQuery},
		{"LatestNPerRecordAndOrdering", testLatestNPerRecordAndOrdering},
		{"TimeRangeInclusiveAndLimit", testTimeRangeInclusiveAndLimit},
		{"PatternCharactersAreLiteral", testPatternCharactersAreLiteral},
		{"UnusualNamesRoundTrip", testUnusualNamesRoundTrip},
		{"CleanupDeletesOlderRows", testCleanupDeletesOlderRows},
		{"RetentionRunsAtOpen", testRetentionRunsAtOpen},
		{"UndecodableRowsAreSkippedLoggedAndCounted", testUndecodableRowsAreSkippedLoggedAndCounted},
		{"LoggingIsSilentByDefault", testLoggingIsSilentByDefault},
		{"LargeResultKeepsOrderAndSkipsBadRows", testLargeResultKeepsOrderAndSkipsBadRows},
		{"ReopenKeepsData", testReopenKeepsData},
		{"ClosedDB", testClosedDB},
		{"BadInputIsRefusedAndWritesNothing", testBadInputIsRefusedAndWritesNothing},
		{"ConcurrentStoresAllPresentExactlyOnce", testConcurrentStoresAllPresentExactlyOnce},
		{"CloseFlushesEverythingAccepted", testCloseFlushesEverythingAccepted},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, h) })
	}
}
