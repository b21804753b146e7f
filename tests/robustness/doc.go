// Package robustness holds rechist's robustness tests: what happens to a
// database file when the process is killed, the disk fills up, files and
// directories are read-only, a file is no database or is damaged, another
// process holds the lock, another program writes odd rows, callers pass
// hostile arguments, or many goroutines store, query and clean up at once.
// Every test checks a promise of the library and fails when it does not
// hold. The package has no code of its own, only tests; shared helpers are
// in internal/testutil.
//
// The tests, by file:
//
//   - crash_test.go: a child process (the test binary, run again) stores
//     from several goroutines and reports every acknowledged write; it is
//     killed with SIGKILL many times on one file, and after every kill the
//     file must be intact and hold every acknowledged write exactly once.
//   - faults_test.go: a full disk, read-only files and directories, paths
//     that are no database, damaged files, a lock held by another process,
//     a failing batch, rows of the wrong shape or type written by another
//     program: each gives a clear error, never a hang or a panic.
//   - fuzz_test.go: every public call with hostile arguments, and two fuzz
//     targets with a seed corpus in testdata/fuzz.
//   - load_test.go: writers, readers and a cleanup at once; afterwards
//     every acknowledged value is there exactly once.
//   - sync_kill_test.go, sync_concurrent_test.go, sync_outage_test.go:
//     `rechist sync` processes SIGKILLed twenty times in a row while the
//     source grows, two sources with two sync processes each pushing into
//     one destination, and a private PostgreSQL cluster stopped twice
//     during a push; afterwards the destination holds every source row
//     exactly once (multisets of name, time and value compared). SQLite
//     destinations always, PostgreSQL with RECHIST_TEST_POSTGRES_URL
//     (sync_helpers_test.go has the shared pieces).
//
// # Running them
//
// go test ./... runs them all at their default size (about 15 s, a minute
// under -race), except those that mount file systems:
//
//	go test ./tests/robustness/
//	go test -race ./tests/robustness/  # smaller crash and load runs
//	go test -short ./tests/robustness/ # the same smaller runs
//
// Mounting needs root on Linux and is opt-in: TestFaultDiskFull (fills a
// 4 MiB tmpfs) always, and TestFaultReadOnlyFile (read-only bind mount)
// and TestFaultReadOnlyDirectory (tmpfs remounted read-only) when run as
// root, run only with RECHIST_TEST_PRIVILEGED=1 and skip otherwise. CI sets
// it; with it set, a test that cannot mount fails instead of skipping:
//
//	RECHIST_TEST_PRIVILEGED=1 go test -run '^TestFault' -v ./tests/robustness/
//
// The crash tests kill 20 + 20 + 5 children by default, 8 + 8 + 3 under
// -race or -short. -rechist.long runs 200 + 200 + 50 kills with up to
// 20000 acknowledged writes between two kills; RECHIST_CRASH_SEED replays
// the kill schedule a run logged:
//
//	go test -run '^TestCrash' -rechist.long -v -timeout 60m ./tests/robustness/
//	RECHIST_CRASH_SEED=<seed> go test -run '^TestCrash' -v ./tests/robustness/
//
// The load test stores 20000 rows from 32 writers by default, 5000 under
// -race or -short. -rechist.load runs 256 writers, 1M rows and 4 readers;
// -rechist.load.sync (FULL or NORMAL) and -rechist.load.readers change it:
//
//	go test -run '^TestLoad' -rechist.load -v -timeout 30m ./tests/robustness/
//	go test -run '^TestLoad' -rechist.load -rechist.load.sync=NORMAL -v ./tests/robustness/
//	go test -run '^TestLoad' -rechist.load -rechist.load.readers=0 -v ./tests/robustness/
//
// The seeds in testdata/fuzz run with every go test; to fuzz:
//
//	go test -run '^$' -fuzz=FuzzPatternMatchesReference -fuzztime=60s ./tests/robustness/
//	go test -run '^$' -fuzz=FuzzJSONRoundTrip -fuzztime=60s ./tests/robustness/
//
// New inputs that fail are written to testdata/fuzz; commit those worth
// keeping as seeds.
package robustness
