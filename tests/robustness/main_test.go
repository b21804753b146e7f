package robustness

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// No goroutine of a closed DB may outlive Close.
	goleak.VerifyTestMain(m)
}
