package rechisttest

// Aggregate at the edges of float64: sums beyond its range, numbers that
// are not float64 numbers at all, numbers that round to zero. Both
// engines must give the same buckets, and a bad record must not fail the
// pattern's answer.

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// maxTie is 2^1024 - 2^970, halfway between the largest float64 and 2^1024:
// it rounds (to even) to +Inf, so it is not a float64 number.
const maxTie = "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792"

// A bucket whose true sum is beyond float64 has Sum ±Inf (the sign of the
// true sum) and a finite Mean; huge values that cancel give the sum back
// in range; ordinary values give the same sums, bit for bit, on both
// engines; a JSON number beyond float64 (1e400) is left out like a
// non-number; one that rounds to zero counts as +0; the record next to
// them is unaffected.
func testAggregateOverflow(t *testing.T, h Harness) {
	db, dsn := h.openDB(t)
	raw := rechist.NewRepo[json.RawMessage](db)
	// put stores values a millisecond apart from at on; a value in
	// parentheses is one rechist refuses to store (a number beyond
	// float64), which another program writes.
	put := func(name string, at int64, vs ...string) {
		t.Helper()
		for _, v := range vs {
			if strings.HasPrefix(v, "(") {
				h.InsertRaw(t, dsn, name, `{"v":`+strings.Trim(v, "()")+`}`, at)
			} else if err := raw.StoreAt(t.Context(), name, json.RawMessage(`{"v":`+v+`}`), time.UnixMilli(at)); err != nil {
				t.Fatal(err)
			}
			at++
		}
	}
	const big, top = "1.7e308", "1.7976931348623157e308"
	put("ov::big", 0, big, big)                    // +Inf
	put("ov::big", 10, "-"+big, "-"+big)           // -Inf
	put("ov::big", 20, big, big, "-"+big)          // back in range: 1.7e308
	put("ov::big", 30, "-"+big, big, big)          // the same in another order
	put("ov::big", 40, top, top, "-"+top, "-"+top) // 0
	// Ordinary values add exactly, as their shortest decimals, in any
	// order, on both engines: no float64 addition loses the 1.
	put("ov::big", 50, "1e16", "1", "-1e16")                  // 1
	put("ov::big", 60, slices.Repeat([]string{"0.1"}, 10)...) // 1, not 0.9999999999999999
	put("ov::big", 70, "1e16")
	put("ov::big", 70, "1")
	put("ov::big", 70, "1")                        // at one time: 1 + 1 + 1e16
	put("ov::edge", 0, "(1e400)", "(-1e400)", "5") // beyond float64: left out
	put("ov::edge", 10, "("+maxTie+")", "1.7976931348623158e308", "(1.7976931348623159e308)")
	put("ov::edge", 20, "1e-400", "-1e-400", "-0", "2.4703282292062327e-324") // round to zero
	put("ov::edge", 30, "2.4703282292062328e-324")                            // the smallest float64
	put("ov::edge", 40, "(1e400)")                                            // no number: no bucket
	put("ov::ok", 0, "1", "2")
	series, err := db.Aggregate(t.Context(), "ov::*", rechist.AggregateParams{Field: "v", Every: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("Aggregate(ov::*): %v", err)
	}
	want := strings.Join([]string{
		"ov::big:",
		" [0 n2 min1.7e+308 max1.7e+308 mean1.7e+308 sum+Inf first1.7e+308 last1.7e+308]",
		" [10 n2 min-1.7e+308 max-1.7e+308 mean-1.7e+308 sum-Inf first-1.7e+308 last-1.7e+308]",
		" [20 n3 min-1.7e+308 max1.7e+308 mean5.666666666666667e+307 sum1.7e+308 first1.7e+308 last-1.7e+308]",
		" [30 n3 min-1.7e+308 max1.7e+308 mean5.666666666666667e+307 sum1.7e+308 first-1.7e+308 last1.7e+308]",
		" [40 n4 min-1.7976931348623157e+308 max1.7976931348623157e+308 mean0 sum0 first1.7976931348623157e+308 last-1.7976931348623157e+308]",
		" [50 n3 min-1e+16 max1e+16 mean0.3333333333333333 sum1 first1e+16 last-1e+16]",
		" [60 n10 min0.1 max0.1 mean0.1 sum1 first0.1 last0.1]",
		" [70 n3 min1 max1e+16 mean3.333333333333334e+15 sum1.0000000000000002e+16 first1e+16 last1]",
		"; ov::edge:",
		" [0 n1 min5 max5 mean5 sum5 first5 last5]",
		" [10 n1 min1.7976931348623157e+308 max1.7976931348623157e+308 mean1.7976931348623157e+308 sum1.7976931348623157e+308 first1.7976931348623157e+308 last1.7976931348623157e+308]",
		" [20 n4 min0 max0 mean0 sum0 first0 last0]",
		" [30 n1 min5e-324 max5e-324 mean5e-324 sum5e-324 first5e-324 last5e-324]",
		"; ov::ok:",
		" [0 n2 min1 max2 mean1.5 sum3 first1 last2]",
		"; ",
	}, "")
	if got := formatSeries(series); got != want {
		t.Fatalf("Aggregate(ov::*) =\n %s\nwant\n %s", got, want)
	}
}

// formatSeries writes series as one line, every figure with %g (so -0 and
// ±Inf show).
func formatSeries(series []rechist.Series) string {
	var b strings.Builder
	for _, s := range series {
		fmt.Fprintf(&b, "%s:", s.Name)
		for _, k := range s.Buckets {
			fmt.Fprintf(&b, " [%d n%d min%g max%g mean%g sum%g first%g last%g]", k.Start.UnixMilli(), k.Count, k.Min, k.Max, k.Mean, k.Sum, k.First, k.Last)
		}
		b.WriteString("; ")
	}
	return b.String()
}

// Every way JSON writes a number reads as strconv.ParseFloat reads it, on
// both engines: exponents (e, E, signs, leading zeros), long mantissas,
// leading and trailing zeros, numbers that round to zero or to the
// smallest float64, numbers beyond PostgreSQL's numeric that float64
// reads as 0 (1e-20000, which rechist stores), and, written by another
// program, numbers beyond float64 (left out). One number a bucket: its
// Min, Max, Mean, Sum, First and Last are the number.
func testAggregateNumberForms(t *testing.T, h Harness) {
	db, dsn := h.openDB(t)
	values := []string{"1.50e+3", "1E2", "-0.0", "0e-20000", "1e-20000", "-1e-20000", "0.0e99999999999",
		"123456789012345678901234567890", "0.000000000000000000000000001234", "4.9e-324", "1e-323",
		"12345678901234567890e-10", "0.0000001e+300", "100000000000000000000000e285", "1e0000000000000000000005",
		"1e-0000000000000000000000000400", "17976931348623157" + strings.Repeat("0", 292),
		strings.Repeat("9", 1200) + "e-1150", "0." + strings.Repeat("0", 2000) + "1e2000", strings.Repeat("7", 1001),
		"1e131072", "1e99999999999", "1000000000000000000000000e285", "-1e400", maxTie, "-" + maxTie}
	rng := rand.New(rand.NewPCG(19, 6))
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		return string(b)
	}
	for range 300 {
		var b strings.Builder
		if rng.IntN(2) == 0 {
			b.WriteByte('-')
		}
		if rng.IntN(3) == 0 {
			b.WriteByte('0')
		} else {
			b.WriteString(string(rune('1'+rng.IntN(9))) + digits(rng.IntN(25)))
		}
		if rng.IntN(2) == 0 {
			b.WriteString("." + digits(1+rng.IntN(25)))
		}
		if rng.IntN(4) != 0 {
			b.WriteString([]string{"e", "E"}[rng.IntN(2)] + []string{"", "+", "-"}[rng.IntN(3)] + strings.Repeat("0", rng.IntN(3)))
			fmt.Fprint(&b, rng.IntN(340))
		}
		values = append(values, b.String())
	}
	var recs []rechist.Record[json.RawMessage]
	want := map[int64]float64{}
	for i, v := range values {
		at := int64(i)
		x, err := strconv.ParseFloat(v, 64)
		if err != nil { // beyond float64: rechist refuses it
			h.InsertRaw(t, dsn, "nf", `{"v":`+v+`}`, at)
			continue
		}
		recs = append(recs, rechist.Record[json.RawMessage]{Name: "nf", Value: json.RawMessage(`{"v":` + v + `}`), StoredAt: time.UnixMilli(at)})
		want[at] = x + 0 // -0 counts as 0
	}
	if err := rechist.NewRepo[json.RawMessage](db).StoreMany(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	series, err := db.Aggregate(t.Context(), "nf", rechist.AggregateParams{Field: "v", Every: time.Millisecond})
	if err != nil {
		t.Fatalf("Aggregate(nf): %v", err)
	}
	if len(series) != 1 || len(series[0].Buckets) != len(want) {
		t.Fatalf("Aggregate(nf): %d series, want 1 with %d buckets: %s", len(series), len(want), formatSeries(series))
	}
	same := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }
	for _, k := range series[0].Buckets {
		at := k.Start.UnixMilli()
		x, ok := want[at]
		if !ok || k.Count != 1 || !same(k.Min, x) || !same(k.Max, x) || !same(k.Mean, x) || !same(k.Sum, x) || !same(k.First, x) || !same(k.Last, x) {
			t.Errorf("%s: %+v, want all %g", values[at], k, x)
		}
	}
	// The value itself, with the white space another program may leave
	// around it.
	h.InsertRaw(t, dsn, "ws", " 1.5e1 ", 0)
	h.InsertRaw(t, dsn, "ws", "\t7\n", 10)
	ws, err := db.Aggregate(t.Context(), "ws", rechist.AggregateParams{Every: 10 * time.Millisecond})
	if got, want := formatSeries(ws), "ws: [0 n1 min15 max15 mean15 sum15 first15 last15] [10 n1 min7 max7 mean7 sum7 first7 last7]; "; err != nil || got != want {
		t.Errorf("Aggregate(ws) = %s, %v; want %s", got, err, want)
	}
}

// Sum adds the values exactly, each as its shortest decimal, and rounds
// once (Mean too): so the order of the rows, ties in time included, does
// not matter, and both engines give the same sums and means bit for bit
// on values that are not exact in binary.
func testAggregateSumOrder(t *testing.T, h Harness) {
	db, _ := h.openDB(t)
	rng := rand.New(rand.NewPCG(19, 7))
	var recs []rechist.Record[json.RawMessage]
	var xs []float64
	for i := range 3000 {
		x := math.Round((rng.Float64()*200-100)*100) / 100
		switch i % 3 {
		case 0:
			x = rng.NormFloat64() * 1e6
		case 1:
			x = math.Float64frombits(rng.Uint64()>>2 | 1<<61) // 17 digits, any exponent
		}
		xs = append(xs, x)
		recs = append(recs, rechist.Record[json.RawMessage]{Name: "s", Value: json.RawMessage(strconv.FormatFloat(x, 'g', -1, 64)),
			StoredAt: time.UnixMilli(int64(i / 3))}) // three rows a millisecond
	}
	if err := rechist.NewRepo[json.RawMessage](db).StoreMany(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	series, err := db.Aggregate(t.Context(), "s", rechist.AggregateParams{Every: 10 * time.Millisecond})
	if err != nil || len(series) != 1 || len(series[0].Buckets) != 100 {
		t.Fatalf("Aggregate(s): %d series, %v; want 1 of 100 buckets", len(series), err)
	}
	for j, k := range series[0].Buckets {
		exact := new(big.Rat)
		for _, x := range xs[j*30 : j*30+30] { // the bucket's rows
			d, _ := new(big.Rat).SetString(strconv.FormatFloat(x, 'g', -1, 64))
			exact.Add(exact, d)
		}
		sum, _ := exact.Float64()
		mean, _ := exact.Quo(exact, big.NewRat(30, 1)).Float64()
		if k.Sum != sum || k.Mean != mean {
			t.Fatalf("bucket %d: sum %v mean %v, want the exact sum and mean rounded once: %v %v", j, k.Sum, k.Mean, sum, mean)
		}
	}
}
