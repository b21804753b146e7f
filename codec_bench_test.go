package rechist

import "testing"

// BenchmarkEncodeValue is the JSON encoding every Store pays in the
// caller's goroutine.
func BenchmarkEncodeValue(b *testing.B) {
	type accuracy struct {
		Value float64 `json:"value"`
		City  string  `json:"city"`
	}
	v := accuracy{Value: 0.93, City: "vienna"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeValue("store", "accuracy::vienna", v); err != nil {
			b.Fatal(err)
		}
	}
}
