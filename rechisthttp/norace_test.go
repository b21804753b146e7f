//go:build !race

package rechisthttp

const raceEnabled = false
