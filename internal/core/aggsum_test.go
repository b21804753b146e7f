package core

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// The cases of issue 19: two 1.7e308 sum to +Inf with the mean 1.7e308,
// two -1.7e308 to -Inf; huge values that cancel give the sum back in
// range, in any order; ordinary values add as a plain loop adds them.
func TestBucketSumOverflow(t *testing.T) {
	const m = math.MaxFloat64
	for _, tc := range []struct {
		xs        []float64
		sum, mean float64
	}{
		{[]float64{1.7e308, 1.7e308}, math.Inf(1), 1.7e308},
		{[]float64{-1.7e308, -1.7e308}, math.Inf(-1), -1.7e308},
		{[]float64{1.7e308, 1.7e308, -1.7e308}, 1.7e308, 1.7e308 / 3},
		{[]float64{-1.7e308, 1.7e308, 1.7e308}, 1.7e308, 1.7e308 / 3},
		{[]float64{m, m, m}, math.Inf(1), m},
		{[]float64{m, m, -m, -m}, 0, 0},
		{[]float64{1.7e308, 1, 2}, 1.7e308, 1.7e308 / 3},
		{[]float64{1e16, 1, -1e16}, 0, 0}, // plain additions: 1e16 + 1 is 1e16
		{[]float64{1, 1, 1e16}, 1.0000000000000002e16, 1.0000000000000002e16 / 3},
		{[]float64{5e-324, 0, 0}, 5e-324, 0},
	} {
		var s BucketSum
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, x := range tc.xs {
			s.Add(x)
			lo, hi = min(lo, x), max(hi, x)
		}
		if sum, mean := s.Sum(), s.Mean(int64(len(tc.xs)), lo, hi); sum != tc.sum || mean != tc.mean {
			t.Errorf("%v: sum %v mean %v, want %v %v", tc.xs, sum, mean, tc.sum, tc.mean)
		}
	}
}

// On random values: below 2^960 the sum is a plain loop's, bit for bit
// (what PostgreSQL's SUM gives over the same order); with huge ones, the
// sum is ±Inf where the true sum is beyond float64 (by more than the
// rounding of the additions) and finite where it is within, and the mean
// is always finite and within [min, max].
func TestBucketSumRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 6))
	for run := range 4000 {
		huge := run%2 == 1
		var s BucketSum
		var plain float64
		exact := new(big.Float).SetPrec(4096) // float64s span 2098 bits
		lo, hi := math.Inf(1), math.Inf(-1)
		n := 1 + rng.IntN(40)
		for range n {
			sign := float64(1 - 2*rng.IntN(2))
			x := sign * math.Ldexp(1+rng.Float64(), rng.IntN(2098)-1074) // any magnitude
			if huge && rng.IntN(2) == 0 {
				x = sign * math.Ldexp(1+rng.Float64(), 1020+rng.IntN(4))
			} else if !huge {
				x = sign * math.Ldexp(1+rng.Float64(), rng.IntN(1900)-1000)
			}
			s.Add(x)
			plain += x
			exact.Add(exact, new(big.Float).SetFloat64(x))
			lo, hi = min(lo, x), max(hi, x)
		}
		sum := s.Sum()
		if !huge && math.Float64bits(sum) != math.Float64bits(plain) {
			t.Fatalf("run %d: sum %v, a plain loop's %v", run, sum, plain)
		}
		e, _ := new(big.Float).Quo(exact, big.NewFloat(math.MaxFloat64)).Float64() // the true sum over MaxFloat64
		if math.Abs(e) > 1.01 && !math.IsInf(sum, int(math.Copysign(1, e))) || math.Abs(e) < 0.99 && math.IsInf(sum, 0) {
			t.Fatalf("run %d: sum %v, the true sum %v", run, sum, exact.Text('g', 5))
		}
		if m := s.Mean(int64(n), lo, hi); !(m >= lo && m <= hi) {
			t.Fatalf("run %d: mean %v outside [%v, %v] (sum %v)", run, m, lo, hi, sum)
		}
	}
}
