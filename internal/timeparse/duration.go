package timeparse

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxDays is the most whole days a time.Duration holds.
const MaxDays = uint64(math.MaxInt64 / int64(24*time.Hour))

// Duration reads a positive duration: a Go duration (90m, 36h), whole days
// (7d), or days then a Go duration (1d12h), at most MaxDays in all.
func Duration(s string) (time.Duration, error) {
	// time.Duration(n)*24*time.Hour would overflow silently past MaxDays.
	bad := &invalid{fmt.Sprintf("bad duration %q: want a Go duration such as 90m or 36h, or days such as 7d", s)}
	tooLong := &invalid{fmt.Sprintf("bad duration %q: at most %dd (about 292 years)", s, MaxDays)}
	var total time.Duration
	rest := s
	if days, after, ok := strings.Cut(s, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 32)
		if err != nil {
			return 0, bad
		}
		if n > MaxDays {
			return 0, tooLong
		}
		total, rest = time.Duration(n)*24*time.Hour, after
	}
	if rest != "" {
		v, err := time.ParseDuration(rest)
		if err != nil {
			return 0, bad
		}
		if v > 0 && total > math.MaxInt64-v {
			return 0, tooLong
		}
		total += v
	}
	if total <= 0 {
		return 0, &invalid{fmt.Sprintf("bad duration %q: must be positive", s)}
	}
	return total, nil
}
