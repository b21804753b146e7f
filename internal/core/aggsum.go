package core

import "math"

// BucketSum is how both engines add up a bucket's values, so that their
// sums and means are the same bit for bit: float64 additions in the rows'
// order (stored_at, then id descending: the SQLite engine's scan order),
// which overflow nowhere. A value of 2^960 or more in magnitude goes, times
// 2^-64 (exact for such a value), to Big instead of Small: neither partial
// sum can overflow (that would take 2^63 values), so a bucket whose true
// sum is beyond float64 has Sum ±Inf by its sign and a finite Mean, and
// huge values that cancel (1.7e308 + 1.7e308 - 1.7e308) give the sum back
// in range (1.7e308). Ordinary values are summed as a plain loop sums them, and
// nothing is compensated: ten 0.1 sum to 0.9999999999999999 on both
// engines. The PostgreSQL engine computes Small and Big in SQL, the same
// additions in the same order (postgres/queries/records.sql), and Sum and
// Mean here.
type BucketSum struct {
	Small, Big float64
}

// bigValue is where a value goes to Big; scaleDown and scaleUp scale it.
const (
	bigValue  = 0x1p960
	scaleDown = 0x1p-64
	scaleUp   = 0x1p64
)

// Add adds x, a finite number.
func (s *BucketSum) Add(x float64) {
	if math.Abs(x) < bigValue {
		s.Small += x
	} else {
		s.Big += x * scaleDown
	}
}

// scaled is the sum times 2^-64, for a Big that is not 0 (then at least
// 2^844 in magnitude: Small times 2^-64 rounding to 0 changes nothing).
func (s BucketSum) scaled() float64 {
	return s.Big + s.Small*scaleDown
}

// Sum is the sum: ±Inf when beyond float64.
func (s BucketSum) Sum() float64 {
	if s.Big == 0 {
		return s.Small
	}
	return s.scaled() * scaleUp
}

// Mean is the sum over the count n: Sum / n when Sum is finite, else the
// scaled sum's mean, held within [lo, hi] (the values' min and max)
// against its rounding.
func (s BucketSum) Mean(n int64, lo, hi float64) float64 {
	if sum := s.Sum(); !math.IsInf(sum, 0) {
		return sum / float64(n)
	}
	return min(max(s.scaled()/float64(n)*scaleUp, lo), hi)
}
