package rechist

import (
	"math"
	"time"

	"github.com/seed178a96f3/rechist/internal/core"
)

var (
	epoch     = time.UnixMilli(0)
	latestPos = time.UnixMilli(math.MaxInt64)
)

// toMillis converts t to what stored_at holds: Unix milliseconds, rounded
// down. Times before the Unix epoch or past the int64 range are refused.
func toMillis(op, what string, t time.Time) (int64, error) {
	switch {
	case t.Before(epoch):
		return 0, core.Invalidf(op, "%s %s is before the Unix epoch", what, t.Format(time.RFC3339Nano))
	case t.After(latestPos):
		return 0, core.Invalidf(op, "%s %s is past the last storable millisecond", what, t.Format(time.RFC3339Nano))
	}
	return t.UnixMilli(), nil
}

// fromMillis is the inverse of toMillis, in UTC.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
