package jsonpath

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// decimal's fast path gives ParseFloat's answer, bit for bit, or leaves
// the text to it.
func FuzzDecimal(f *testing.F) {
	for _, s := range []string{"0", "-0", "12.34", "-7.5", "123456789012345", "1234567890123456", "0.000000000000001",
		"1.", ".5", "1.2.3", "01", "-", "", "1e5", "9007199254740993", "999999999999999.9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := decimal(s)
		if !ok {
			return
		}
		want, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("decimal(%q) = %v, ParseFloat %v, %v", s, got, want, err)
		}
	})
}

func TestDecimalRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		digits := 1 + rng.IntN(15)
		s := ""
		for range digits {
			s += string(rune('0' + rng.IntN(10)))
		}
		if k := rng.IntN(digits + 1); k > 0 && k < digits {
			s = s[:k] + "." + s[k:]
		}
		if rng.IntN(2) == 0 {
			s = "-" + s
		}
		got, ok := decimal(s)
		want, err := strconv.ParseFloat(s, 64)
		if !ok || err != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("decimal(%q) = %v, %v; ParseFloat %v, %v", s, got, ok, want, err)
		}
	}
}

func TestNumber(t *testing.T) {
	for _, c := range []struct {
		js   string
		path []string
		want float64
		ok   bool
	}{
		{`{"celsius":12.34}`, []string{"celsius"}, 12.34, true},
		{` { "a" : { "b" : -1e3 } } `, []string{"a", "b"}, -1000, true},
		{`{"a":"1"}`, []string{"a"}, 0, false},
		{`{"x":[1,{"a":2}],"a":3}`, []string{"a"}, 3, true},
		{`{"\u0061":5}`, []string{"a"}, 5, true},
		{`42`, nil, 42, true},
		{`{"a":true}`, []string{"a"}, 0, false},
		{`{"b":1}`, []string{"a"}, 0, false},
	} {
		got, ok := Number(c.js, c.path)
		if got != c.want || ok != c.ok {
			t.Errorf("Number(%s, %q) = %v, %v; want %v, %v", c.js, c.path, got, ok, c.want, c.ok)
		}
	}
}

func BenchmarkNumber(b *testing.B) {
	path := []string{"celsius"}
	for b.Loop() {
		if _, ok := Number(`{"celsius":12.34}`, path); !ok {
			b.Fatal("no number")
		}
	}
}
