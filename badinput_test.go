package rechist_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

func TestBadOptionsFailAtOpen(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		opt  rechist.Option
	}{
		{"WithRetention", rechist.WithRetention(0)},
		{"WithCleanupInterval", rechist.WithCleanupInterval(-time.Second)},
		{"WithSynchronous", rechist.WithSynchronous(rechist.Synchronous(7))},
		{"WithLogger", rechist.WithLogger(nil)},
		{"WithQueueSize", rechist.WithQueueSize(0)},
		{"WithMaxBatchRows", rechist.WithMaxBatchRows(-1)},
		{"WithCleanupChunk", rechist.WithCleanupChunk(0)},
		{"WithReadConns", rechist.WithReadConns(0)},
		{"WithBusyTimeout", rechist.WithBusyTimeout(0)},
		{"WithCacheSize", rechist.WithCacheSize(10)},
		{"WithPageSize", rechist.WithPageSize(1000)},
		{"Open", nil},
	} {
		db, err := rechist.Open(context.Background(), dir+"/x.db", tc.opt)
		if err == nil {
			db.Close()
			t.Errorf("%s: Open succeeded", tc.name)
			continue
		}
		if !errors.Is(err, rechist.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: got %v, want ErrInvalidArgument naming the option", tc.name, err)
		}
	}
	if _, err := rechist.Open(context.Background(), ""); !errors.Is(err, rechist.ErrInvalidArgument) {
		t.Errorf("empty path: %v", err)
	}
}
