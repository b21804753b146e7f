package postgres

import "time"

// SetOutcomeWait shortens how long the engine tries to learn a lost
// commit's outcome, for tests; it returns a func that restores it.
func SetOutcomeWait(d time.Duration) (restore func()) {
	old := outcomeWait
	outcomeWait = d
	return func() { outcomeWait = old }
}
