//go:build race

package rechisthttp

// raceEnabled: the race detector slows the server ten times or more.
const raceEnabled = true
