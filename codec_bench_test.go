package rechist

import (
	"encoding/json"
	"testing"
)

// BenchmarkEncodeValue is the JSON encoding every Store pays in the
// caller's goroutine, the checks of the encoded text included. The
// sub-benchmarks are a typical struct, a raw value the command line
// stores, and values that take the slower checks: a number with an
// exponent and a string with \u escapes.
func BenchmarkEncodeValue(b *testing.B) {
	type accuracy struct {
		Value float64 `json:"value"`
		City  string  `json:"city"`
	}
	for _, bc := range []struct {
		name string
		v    any
	}{
		{"struct", accuracy{Value: 0.93, City: "vienna"}},
		{"raw", json.RawMessage(`{"value":0.93,"city":"vienna"}`)},
		{"exponent", accuracy{Value: 1e-9, City: "vienna"}},
		{"escapes", json.RawMessage(`{"value":0.93,"city":"\u0076ienna \ud83d\ude00"}`)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeValue("store", "accuracy::vienna", bc.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
