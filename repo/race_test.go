//go:build race

package repo

// raceEnabled: the race detector slows every process of a test ~10x.
const raceEnabled = true
