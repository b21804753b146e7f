// Package robustness holds rechist's robustness tests: what happens to a
// database when the process dies, the disk fills, files are read-only,
// damaged or locked by another process, input is hostile, or many callers
// store, query and clean up at once. It has no code of its own, only tests.
package robustness
