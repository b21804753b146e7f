package core

import (
	"encoding/binary"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
)

// DecimalSum is how both engines add up a bucket's values, exactly: each
// value, a float64, is taken as its shortest decimal (the digits
// strconv.FormatFloat(x, 'e', -1, 64) prints, which PostgreSQL's float8
// output prints too), and the decimals are added without rounding. So the
// sum does not depend on the order of the additions, two sums merge into
// the sum of both (what rollup buckets need: a coarser bucket, or a range
// spanning several, gives the sum of its rows, never a sum rounded twice),
// and ten 0.1 sum to 1. Sum and Mean round once, at the end, to the
// nearest float64. The PostgreSQL engine adds the same decimals in
// numeric (x::text::numeric) and hands the exact sum over as text
// (ParseDecimalSum).
//
// The zero value is an empty sum, ready to use.
type DecimalSum struct {
	// The sum is m * 10^exp: in small while it fits an int64 (big nil),
	// else in big. exp only goes down, as values with more decimals come.
	small int64
	big   *big.Int
	exp   int32
	set   bool // exp is meaningful (a value other than 0 was added)
}

// pow10u are the powers of ten that fit a uint64.
var pow10u = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// pow10f are the powers of ten Add tries first, exact in float64.
var pow10f = [...]float64{1, 10, 100, 1e3, 1e4, 1e5, 1e6}

// Add adds x, a finite number. -0 adds nothing, as 0.
func (s *DecimalSum) Add(x float64) {
	if x == 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return
	}
	// Most values have a few decimals (21.53): m / 10^k == x, with m of at
	// most 15 digits, makes m * 10^-k the one decimal of at most 15
	// significant digits that rounds to x (any two of those round to
	// different float64s), so it is the shortest: no formatting needed.
	for k, p := range pow10f {
		t := x * p
		if math.Abs(t) >= 1e15 {
			break
		}
		if t == math.Trunc(t) && t/p == x {
			m := int64(t)
			if m < 0 {
				s.addDecimal(true, uint64(-m), int32(-k))
			} else {
				s.addDecimal(false, uint64(m), int32(-k))
			}
			return
		}
	}
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], x, 'e', -1, 64) // [-]d[.ddd]e±dd
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	var m uint64
	digits, i := 0, 0
	for ; b[i] != 'e'; i++ {
		if b[i] != '.' {
			m = m*10 + uint64(b[i]-'0')
			digits++
		}
	}
	e, _ := strconv.Atoi(string(b[i+1:])) // "+05", "-310": Atoi takes the sign
	s.addDecimal(neg, m, int32(e-(digits-1)))
}

// addDecimal adds ±m * 10^k, m < 10^18.
func (s *DecimalSum) addDecimal(neg bool, m uint64, k int32) {
	v := int64(m)
	if neg {
		v = -v
	}
	if !s.set {
		s.small, s.exp, s.set = v, k, true
		return
	}
	if k < s.exp {
		s.scale(s.exp - k)
		s.exp = k
	}
	if s.big == nil {
		if d := k - s.exp; d < int32(len(pow10u)) {
			if hi, lo := bits.Mul64(m, pow10u[d]); hi == 0 && lo <= math.MaxInt64 {
				w := int64(lo)
				if neg {
					w = -w
				}
				if sum, ok := addInt64(s.small, w); ok {
					s.small = sum
					return
				}
			}
		}
		s.big = big.NewInt(s.small)
	}
	t := new(big.Int).SetUint64(m)
	if d := k - s.exp; d > 0 {
		t.Mul(t, pow10(d))
	}
	if neg {
		t.Neg(t)
	}
	s.big.Add(s.big, t)
}

// scale multiplies the sum's digits by 10^d (its exponent goes down by d).
func (s *DecimalSum) scale(d int32) {
	if s.big == nil {
		if d < int32(len(pow10u)) {
			neg := s.small < 0
			u := uint64(s.small)
			if neg {
				u = -u
			}
			if hi, lo := bits.Mul64(u, pow10u[d]); hi == 0 && lo <= math.MaxInt64 {
				s.small = int64(lo)
				if neg {
					s.small = -s.small
				}
				return
			}
		}
		s.big = big.NewInt(s.small)
	}
	s.big.Mul(s.big, pow10(d))
}

// Merge adds o's values to s.
func (s *DecimalSum) Merge(o DecimalSum) {
	if !o.set {
		return
	}
	if !s.set {
		*s = o
		if o.big != nil {
			s.big = new(big.Int).Set(o.big)
		}
		return
	}
	if o.exp < s.exp {
		s.scale(s.exp - o.exp)
		s.exp = o.exp
	}
	if s.big == nil && o.big == nil { // the common case: no big.Int
		if m, ok := mulPow10(o.small, o.exp-s.exp); ok {
			if sum, ok := addInt64(s.small, m); ok {
				s.small = sum
				return
			}
		}
	}
	t := o.digits()
	if d := o.exp - s.exp; d > 0 {
		t.Mul(t, pow10(d))
	}
	if s.big == nil && t.IsInt64() {
		if sum, ok := addInt64(s.small, t.Int64()); ok {
			s.small = sum
			return
		}
	}
	if s.big == nil {
		s.big = big.NewInt(s.small)
	}
	s.big.Add(s.big, t)
}

// digits returns the sum's digits as a new big.Int (the sum is that times
// 10^exp).
func (s DecimalSum) digits() *big.Int {
	if s.big != nil {
		return new(big.Int).Set(s.big)
	}
	return big.NewInt(s.small)
}

// String is the exact sum as "DIGITSeEXP" (no trailing zeros in DIGITS),
// or "0": what both Go's big.Rat and PostgreSQL's numeric read exactly.
func (s DecimalSum) String() string {
	d := s.digits()
	if d.Sign() == 0 {
		return "0"
	}
	exp := s.exp
	ten := big.NewInt(10)
	q, r := new(big.Int), new(big.Int)
	for {
		q.QuoRem(d, ten, r)
		if r.Sign() != 0 {
			break
		}
		d, q = q, d
		exp++
	}
	return d.String() + "e" + strconv.Itoa(int(exp))
}

// ParseDecimalSum reads a sum as String writes it, or a decimal as
// PostgreSQL's numeric prints it ("-12.50", "0").
func ParseDecimalSum(text string) (DecimalSum, bool) {
	mant, exp := text, 0
	if i := strings.IndexAny(text, "eE"); i >= 0 {
		e, err := strconv.Atoi(text[i+1:])
		if err != nil || e < -100000 || e > 100000 {
			return DecimalSum{}, false
		}
		mant, exp = text[:i], e
	}
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		exp -= len(mant) - i - 1
		mant = mant[:i] + mant[i+1:]
	}
	if mant == "" || mant == "-" || strings.ContainsAny(mant, "+. ") {
		return DecimalSum{}, false
	}
	var s DecimalSum
	if len(mant) <= 18 && mant[len(mant)-1] != '-' {
		// The common sum fits an int64: no big.Int.
		v, err := strconv.ParseInt(mant, 10, 64)
		if err != nil || strings.HasPrefix(mant, "+") {
			return DecimalSum{}, false
		}
		if v != 0 {
			s.small, s.exp, s.set = v, int32(exp), true
		}
		return s, true
	}
	d, ok := new(big.Int).SetString(mant, 10)
	if !ok {
		return DecimalSum{}, false
	}
	if d.Sign() == 0 {
		return s, true
	}
	s.exp, s.set = int32(exp), true
	if d.IsInt64() {
		s.small = d.Int64()
	} else {
		s.big = d
	}
	return s, true
}

// exactFloat is the largest integer below which every integer is a
// float64 (2^53), and pow10e the powers of ten that are float64s exactly.
const exactFloat = 1 << 53

var pow10e = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// Sum is the sum rounded to the nearest float64: ±Inf beyond its range.
func (s DecimalSum) Sum() float64 {
	if !s.set {
		return 0
	}
	// The common sum: digits and a power of ten that are both float64s
	// exactly, so one multiplication or division rounds once, correctly
	// (the fast path of decimal-to-float conversion).
	if s.big == nil && s.small > -exactFloat && s.small < exactFloat && s.exp >= -22 && s.exp <= 22 {
		if s.exp >= 0 {
			return float64(s.small) * pow10e[s.exp]
		}
		return float64(s.small) / pow10e[-s.exp]
	}
	f, _ := strconv.ParseFloat(s.String(), 64) // a range error comes with ±Inf or ±0, as wanted
	return f
}

// Mean is the sum over n rounded to the nearest float64, once.
func (s DecimalSum) Mean(n int64) float64 {
	if !s.set || n == 0 {
		return 0
	}
	// The common mean: digits / (n * 10^-exp), or digits * 10^exp / n,
	// with both sides integers a float64 holds exactly: one division,
	// rounded once.
	if s.big == nil && s.small > -exactFloat && s.small < exactFloat && n > 0 && n < exactFloat {
		switch {
		case s.exp >= 0 && s.exp <= 15:
			if m, ok := mulPow10(s.small, s.exp); ok && m > -exactFloat && m < exactFloat {
				return float64(m) / float64(n)
			}
		case s.exp < 0 && s.exp >= -15:
			if d, ok := mulPow10(n, -s.exp); ok && d < exactFloat {
				return float64(s.small) / float64(d)
			}
		}
	}
	r := new(big.Rat).SetInt(s.digits())
	if s.exp >= 0 {
		r.Mul(r, new(big.Rat).SetInt(pow10(s.exp)))
	} else {
		r.Quo(r, new(big.Rat).SetInt(pow10(-s.exp)))
	}
	r.Quo(r, new(big.Rat).SetInt64(n))
	f, _ := r.Float64()
	return f
}

// pow10 is 10^d as a new big.Int.
func pow10(d int32) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d)), nil)
}

// mulPow10 is m * 10^d (d >= 0), or false when it overflows an int64.
func mulPow10(m int64, d int32) (int64, bool) {
	if d == 0 || m == 0 {
		return m, true
	}
	if d >= int32(len(pow10u)) {
		return 0, false
	}
	p := int64(pow10u[d])
	if d > 18 || m > math.MaxInt64/p || m < math.MinInt64/p {
		return 0, false
	}
	return m * p, true
}

// addInt64 adds without overflow, or says it would overflow.
func addInt64(a, b int64) (int64, bool) {
	c := a + b
	if (c > a) != (b > 0) {
		return 0, false
	}
	return c, true
}

// appendBinary appends the sum as rollup blocks store it: a byte (0: no
// value, 1: small, 2: big and positive, 3: big and negative), then varint
// exp and either varint digits or uvarint length and the digits' bytes,
// big-endian.
func (s DecimalSum) appendBinary(out []byte) []byte {
	switch {
	case !s.set:
		return append(out, 0)
	case s.big == nil:
		out = append(out, 1)
		out = binary.AppendVarint(out, int64(s.exp))
		return binary.AppendVarint(out, s.small)
	}
	tag := byte(2)
	if s.big.Sign() < 0 {
		tag = 3
	}
	out = append(out, tag)
	out = binary.AppendVarint(out, int64(s.exp))
	abs := s.big.Bytes()
	out = binary.AppendUvarint(out, uint64(len(abs)))
	return append(out, abs...)
}

// decimalSum reads what appendBinary writes.
func (r *binReader) decimalSum() DecimalSum {
	var s DecimalSum
	tag := r.byte()
	if tag == 0 {
		return s
	}
	exp := r.varint()
	if exp < math.MinInt32 || exp > math.MaxInt32 {
		r.bad = true
		return s
	}
	s.exp, s.set = int32(exp), true
	switch tag {
	case 1:
		s.small = r.varint()
	case 2, 3:
		s.big = new(big.Int).SetBytes(r.bytes(r.uvarint()))
		if tag == 3 {
			s.big.Neg(s.big)
		}
		if s.big.IsInt64() { // not what appendBinary writes, but the same sum
			s.small, s.big = s.big.Int64(), nil
		}
	default:
		r.bad = true
	}
	return s
}
