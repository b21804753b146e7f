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
//
// The cases are grouped by area, one file each: store, query, patterns,
// cleanup (and retention), lifecycle (Open, Close, reopening), read (the
// read side), changes (rows in commit order), operate, input (bad input),
// concurrency and decode (undecodable rows, logging).
package rechisttest

import (
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// Harness tells the suite how to reach an engine.
//
// The suite runs its cases in parallel, each on a database of its own, so
// both functions must be safe for concurrent use (with different t).
type Harness struct {
	// NewDSN returns what rechist.Open takes to open a new, empty database
	// of its own for one test (a file path, a postgres:// URL), and cleans
	// it up when the test ends. It must be safe for concurrent use, and the
	// databases it returns independent of each other: cases that each have
	// one run at the same time.
	NewDSN func(t *testing.T) string
	// Prepared is true when NewDSN's databases already hold rechist's
	// schema (a harness that partitions each one first): the cases about
	// what Open does to a new database, and about older schemas, skip.
	Prepared bool
	// InsertRaw writes a row as another program would, bypassing rechist:
	// the suite uses it for rows rechist would never write. It must be safe
	// for concurrent use.
	InsertRaw func(t *testing.T, dsn, name, valueJSON string, storedAt int64)
	// ExecRaw runs a statement on record_history as another program
	// would (an UPDATE or a DELETE, in SQL both engines read alike).
	// Without it the cases that need it leave those steps out.
	ExecRaw func(t *testing.T, dsn, query string)
	// DelayCommits makes every transaction that inserts into
	// record_history at dsn (a database rechist has opened), whoever runs it, wait a random time up to max
	// after writing its rows and before it commits (PostgreSQL: a
	// statement trigger that sleeps), so that transactions commit in
	// another order than their row ids. Nil for an engine whose writers
	// take turns (SQLite), where that cannot happen.
	DelayCommits func(t *testing.T, dsn string, max time.Duration)
	// Fast are options that make the engine quicker where a case does not
	// depend on durability (the SQLite harness gives
	// WithSynchronous(SyncNormal)); empty for an engine that has none.
	Fast []rechist.Option
	// Server is true for an engine on a database server (PostgreSQL): it
	// has no files, so Backup and Compact return errors wrapping
	// errors.ErrUnsupported instead of copying or shrinking one.
	Server bool
	// HoldWrites makes another connection take the write lock of the
	// database at dsn (SQLite: BEGIN IMMEDIATE; PostgreSQL: LOCK TABLE
	// record_history IN EXCLUSIVE MODE), so that write transactions wait
	// while reads go on, until release is called (it also runs when the
	// test ends). waiting reports whether a write transaction now waits
	// for the lock; it is nil for an engine whose writer tries again
	// instead of waiting (SQLite), each try counted in Stats().Batches.
	// Without HoldWrites the cases that need it skip.
	HoldWrites func(t *testing.T, dsn string) (waiting func() bool, release func())
}

// testCase is one conformance case.
type testCase struct {
	name string
	test func(*testing.T, Harness)
	// serial is for a case that changes process-wide state (slog's default
	// logger): it runs while no other case of the suite runs.
	serial bool
}

// Run runs every conformance test as a subtest of t, named area/case
// (Store/StoreAndWildcardQuery). The cases run in parallel, as many at
// once as go test's -parallel allows, except the serial ones, which run
// first and alone. A caller that runs Run in a parallel test must
// therefore keep other tests from logging through slog's default logger
// meanwhile.
func Run(t *testing.T, h Harness) {
	for _, area := range []struct {
		name  string
		cases []testCase
	}{
		{"Store", []testCase{
			{name: "StoreAndWildcardQuery", test: testStoreAndWildcardQuery},
			{name: "UnusualNamesRoundTrip", test: testUnusualNamesRoundTrip},
		}},
		{"Query", []testCase{
			{name: "LatestNPerRecordAndOrdering", test: testLatestNPerRecordAndOrdering},
			{name: "TimeRangeInclusiveAndLimit", test: testTimeRangeInclusiveAndLimit},
			{name: "OldestFirst", test: testOldestFirst},
		}},
		{"Patterns", []testCase{
			{name: "PatternCharactersAreLiteral", test: testPatternCharactersAreLiteral},
			{name: "LongWildcardPatterns", test: testLongWildcardPatterns},
		}},
		{"Cleanup", []testCase{
			{name: "CleanupDeletesOlderRows", test: testCleanupDeletesOlderRows},
			{name: "ConcurrentCleanupsLeaveNothingBehind", test: testConcurrentCleanupsLeaveNothingBehind},
			{name: "RetentionRunsAtOpen", test: testRetentionRunsAtOpen},
		}},
		{"Policy", []testCase{
			{name: "RoundTrip", test: testPolicyRoundTrip},
			{name: "BadInput", test: testPolicyBadInput},
			{name: "MostSpecificApplies", test: testPolicyMostSpecificApplies},
			{name: "AppliedByRetentionJob", test: testPolicyAppliedByRetentionJob},
			{name: "ReadOnly", test: testPolicyReadOnly},
			{name: "KeepsItsLanguage", test: testPolicyKeepsItsLanguage},
			{name: "TiersMatchAReference", test: testTiersMatchAReference},
			{name: "TiersRollUpOtherWritersRows", test: testTiersRollUpOtherWritersRows},
			{name: "TiersPolicyChange", test: testTiersPolicyChange},
			{name: "TiersFilledRecordByRecord", test: testTiersFilledRecordByRecord},
			{name: "TiersBadInput", test: testTiersBadInput},
			{name: "AggregateInATimeZone", test: testAggregateInATimeZone},
			{name: "TiersSyncBacklog", test: testTiersSyncBacklog},
			{name: "TiersListed", test: testTiersListed},
		}},
		{"Lifecycle", []testCase{
			{name: "ReopenKeepsData", test: testReopenKeepsData},
			{name: "ClosedDB", test: testClosedDB},
			{name: "CloseFlushesEverythingAccepted", test: testCloseFlushesEverythingAccepted},
		}},
		{"Read", []testCase{
			{name: "AllMatchesQuery", test: testAllMatchesQuery},
			{name: "AllStopsOnCancel", test: testAllStopsOnCancel},
			{name: "TimelineOrder", test: testTimelineOrder},
			{name: "LatestByExactName", test: testLatestByExactName},
			{name: "RecordsListsWhatIsThere", test: testRecordsListsWhatIsThere},
			{name: "ListingsFollowEveryWrite", test: testListingsFollowEveryWrite},
			{name: "ListingsOfAnOlderSchema", test: testListingsOfAnOlderSchema},
			{name: "DeleteMatchingRows", test: testDeleteMatchingRows},
			{name: "AggregateBuckets", test: testAggregateBuckets},
			{name: "AggregateOverflow", test: testAggregateOverflow},
			{name: "AggregateNumberForms", test: testAggregateNumberForms},
			{name: "AggregateSumOrder", test: testAggregateSumOrder},
			{name: "TopicPatterns", test: testTopicPatterns},
			{name: "ValuesMatchTheRows", test: testValuesMatchTheRows},
		}},
		{"Changes", []testCase{
			{name: "InCommitOrder", test: testChangesInCommitOrder},
			{name: "BadInput", test: testChangesBadInput},
			{name: "FollowConcurrentWriters", test: testChangesFollowConcurrentWriters},
			{name: "FollowWritersWithCommitDelays", test: testChangesFollowWritersWithCommitDelays},
			{name: "BatchInQueueOrder", test: testBatchInQueueOrder},
		}},
		{"Sync", []testCase{
			{name: "CopiesEachRowOnce", test: testSyncCopiesEachRowOnce},
			{name: "CountsMissedRows", test: testSyncCountsMissedRows},
			{name: "ConcurrentSources", test: testSyncConcurrentSources},
			{name: "RefusesCopiedSource", test: testSyncRefusesCopiedSource},
			{name: "RefusesRestoredBackupWithoutCursorRow", test: testSyncRefusesRestoredBackupWithoutCursorRow},
			{name: "Arguments", test: testSyncArguments},
			{name: "NewIdentity", test: testSyncNewIdentity},
			{name: "NewIdentityContinues", test: testSyncNewIdentityContinues},
			{name: "RemembersPatternAndPrefix", test: testSyncRemembersPatternAndPrefix},
			{name: "GoneBeforeFirstPushIsNotMissed", test: testSyncGoneBeforeFirstPushIsNotMissed},
			{name: "NewIdentityRacesTheOldOne", test: testSyncNewIdentityRacesTheOldOne},
			{name: "NewIdentityAfterAPushWithoutEpochs", test: testSyncNewIdentityAfterAPushWithoutEpochs},
			{name: "TakeoverOfAnotherHistoryRefused", test: testSyncTakeoverOfAnotherHistoryRefused},
			{name: "TwoNewIdentitiesWhileASyncRuns", test: testSyncTwoNewIdentitiesWhileASyncRuns},
			{name: "TwoNewIdentitiesBelowTheOldCursor", test: testSyncTwoNewIdentitiesBelowTheOldCursor},
		}},
		{"Operate", []testCase{
			{name: "ReadOnlyReadsAndRefusesWrites", test: testReadOnlyReadsAndRefusesWrites},
			{name: "WithoutMigrationsLeavesTheSchemaAlone", test: testWithoutMigrationsLeavesTheSchemaAlone},
			{name: "ForeignDatabaseIsNoHistory", test: testForeignDatabaseIsNoHistory},
			{name: "BackupWhileWriting", test: testBackupWhileWriting},
			{name: "CompactAfterCleanup", test: testCompactAfterCleanup},
			{name: "StrictRepoKeepsTypesApart", test: testStrictRepoKeepsTypesApart},
		}},
		{"Input", []testCase{
			{name: "BadInputIsRefusedAndWritesNothing", test: testBadInputIsRefusedAndWritesNothing},
		}},
		{"Concurrency", []testCase{
			{name: "ConcurrentStoresAllPresentExactlyOnce", test: testConcurrentStoresAllPresentExactlyOnce},
		}},
		{"Decode", []testCase{
			{name: "UndecodableRowsAreSkippedLoggedAndCounted", test: testUndecodableRowsAreSkippedLoggedAndCounted},
			{name: "LoggingIsSilentByDefault", test: testLoggingIsSilentByDefault, serial: true},
			{name: "LargeResultKeepsOrderAndSkipsBadRows", test: testLargeResultKeepsOrderAndSkipsBadRows},
		}},
	} {
		serial := false
		for _, tc := range area.cases {
			serial = serial || tc.serial
		}
		t.Run(area.name, func(t *testing.T) {
			// A parallel area waits until Run returns, so an area with a
			// serial case runs (that case alone, then its parallel ones)
			// before them.
			if !serial {
				t.Parallel()
			}
			for _, tc := range area.cases {
				t.Run(tc.name, func(t *testing.T) {
					if !tc.serial {
						t.Parallel()
					}
					tc.test(t, h)
				})
			}
		})
	}
}
