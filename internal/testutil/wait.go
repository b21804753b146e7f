package testutil

import (
	"testing"
	"time"
)

// WaitLimit is how long WaitFor waits before it fails the test. The events
// tests wait for take milliseconds; only a hang reaches it.
const WaitLimit = 30 * time.Second

// WaitFor polls cond until it holds, failing the test (t.Fatalf, so only
// from the test's goroutine) once WaitLimit has passed without it: tests
// wait for events, not for an amount of time, and never only for -timeout.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	waitFor(t, what, cond, WaitLimit)
}

func waitFor(t testing.TB, what string, cond func() bool, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %v", what, limit)
		}
		time.Sleep(100 * time.Microsecond)
	}
}
