package core

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"testing"
)

// refSum is the exact sum of the shortest decimals of xs, in big.Rat.
func refSum(xs []float64) *big.Rat {
	sum := new(big.Rat)
	for _, x := range xs {
		if x == 0 {
			continue
		}
		r, ok := new(big.Rat).SetString(strconv.FormatFloat(x, 'g', -1, 64))
		if !ok {
			panic(x)
		}
		sum.Add(sum, r)
	}
	return sum
}

func ratOf(t *testing.T, s DecimalSum) *big.Rat {
	t.Helper()
	if s.String() == "0" {
		return new(big.Rat)
	}
	r, ok := new(big.Rat).SetString(s.String())
	if !ok {
		t.Fatalf("String %q does not parse", s.String())
	}
	return r
}

// randomValues mixes magnitudes and decimals: what makes float sums
// depend on their order.
func randomValues(rng *rand.Rand, n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		switch rng.IntN(8) {
		case 6:
			xs[i] = float64(rng.Int64N(2e15)-1e15) / math.Pow(10, float64(rng.IntN(8))) // up to 7 decimals, 15 digits
		case 7:
			xs[i] = float64(rng.Int64N(1e17)) / 1e3 // 17 digits: the fast path must not take it
		case 0:
			xs[i] = float64(rng.IntN(2000)-1000) / 10 // 21.5
		case 1:
			xs[i] = rng.NormFloat64() * 1e6
		case 2:
			xs[i] = rng.Float64() * 1e-300
		case 3:
			xs[i] = (rng.Float64() - 0.5) * 1e300
		case 4:
			xs[i] = math.Float64frombits(rng.Uint64()) // any bits
			if math.IsInf(xs[i], 0) || math.IsNaN(xs[i]) {
				xs[i] = 1
			}
		default:
			xs[i] = 0.1
		}
	}
	return xs
}

func TestDecimalSumIsExactAndOrderFree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 2000 {
		xs := randomValues(rng, 1+rng.IntN(60))
		want := refSum(xs)
		var s DecimalSum
		for _, x := range xs {
			s.Add(x)
		}
		if got := ratOf(t, s); got.Cmp(want) != 0 {
			t.Fatalf("round %d: sum %s, want %s", round, s.String(), want.FloatString(20))
		}
		// Another order, and in parts merged: the same digits.
		rng.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
		var a, b DecimalSum
		cut := rng.IntN(len(xs) + 1)
		for _, x := range xs[:cut] {
			a.Add(x)
		}
		for _, x := range xs[cut:] {
			b.Add(x)
		}
		a.Merge(b)
		if a.String() != s.String() {
			t.Fatalf("round %d: merged %s, in order %s", round, a.String(), s.String())
		}
		back, ok := ParseDecimalSum(s.String())
		if !ok || back.String() != s.String() {
			t.Fatalf("round %d: ParseDecimalSum(%q) = %q, %v", round, s.String(), back.String(), ok)
		}
		wantSum, _ := want.Float64()
		if got := s.Sum(); got != wantSum && !(math.IsInf(got, 0) && math.Abs(wantSum) == math.MaxFloat64) {
			// big.Rat.Float64 gives ±MaxFloat64 where the sum is beyond
			// float64; Sum gives ±Inf, as a float64 sum would.
			t.Fatalf("round %d: Sum %v, want %v", round, got, wantSum)
		}
		n := int64(len(xs))
		wantMean, _ := new(big.Rat).Quo(want, new(big.Rat).SetInt64(n)).Float64()
		if got := s.Mean(n); got != wantMean {
			t.Fatalf("round %d: Mean %v, want %v", round, got, wantMean)
		}
	}
}

func TestDecimalSumCases(t *testing.T) {
	var tenths DecimalSum
	for range 10 {
		tenths.Add(0.1)
	}
	if tenths.Sum() != 1 || tenths.String() != "1e0" {
		t.Errorf("ten 0.1: %v (%s), want 1", tenths.Sum(), tenths.String())
	}
	var big2 DecimalSum
	big2.Add(math.MaxFloat64)
	big2.Add(math.MaxFloat64)
	if !math.IsInf(big2.Sum(), 1) || big2.Mean(2) != math.MaxFloat64 {
		t.Errorf("2 x MaxFloat64: Sum %v Mean %v, want +Inf and MaxFloat64", big2.Sum(), big2.Mean(2))
	}
	var cancel DecimalSum
	for _, x := range []float64{1.7e308, 1.7e308, -1.7e308} {
		cancel.Add(x)
	}
	if cancel.Sum() != 1.7e308 {
		t.Errorf("1.7e308 twice minus once: %v", cancel.Sum())
	}
	var empty DecimalSum
	empty.Add(math.Copysign(0, -1))
	if empty.String() != "0" || empty.Sum() != 0 || empty.Mean(1) != 0 {
		t.Errorf("-0 alone: %s %v", empty.String(), empty.Sum())
	}
	for text, want := range map[string]string{"-12.50": "-125e-1", "0": "0", "0.000": "0", "100": "1e2", "5e-324": "5e-324"} {
		s, ok := ParseDecimalSum(text)
		if !ok || s.String() != want {
			t.Errorf("ParseDecimalSum(%q) = %s, %v; want %s", text, s.String(), ok, want)
		}
	}
	for _, bad := range []string{"", "-", "1.2.3", "abc", "1e", "+1", "1 "} {
		if _, ok := ParseDecimalSum(bad); ok {
			t.Errorf("ParseDecimalSum(%q) accepted", bad)
		}
	}
}

func BenchmarkDecimalSumAdd(b *testing.B) {
	xs := randomValues(rand.New(rand.NewPCG(3, 4)), 1024)
	for i := range xs {
		xs[i] = float64(int(xs[i]*100)%5000) / 100 // temperatures: 21.53
	}
	var s DecimalSum
	for i := 0; b.Loop(); i++ {
		s.Add(xs[i&1023])
	}
}
