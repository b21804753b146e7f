package repo

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// database/sql's connection openers end with DB.Close; nothing else of
	// the engine may outlive Close.
	goleak.VerifyTestMain(m)
}
