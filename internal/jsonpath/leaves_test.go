package jsonpath

import (
	"fmt"
	"strings"
	"testing"
)

// Every leaf Leaves reports is what Number reads at its path, and every
// path Number reads a number at is reported once.
func TestLeavesAgreeWithNumber(t *testing.T) {
	for _, js := range []string{
		`21.5`, ` -0 `, `"x"`, `[1,2]`, `{}`, `null`,
		`{"a":1,"b":{"c":2.5,"d":[3],"e":"4","f":{"g":-1e-3}},"h":true}`,
		`{"a":1,"a":2}`, `{"k\"q":7, "k\u0041":8}`, `{"x":{"y":{"z":1e400}}}`,
		`{"big":1.7976931348623157e308,"tiny":5e-324,"n":-12.50}`,
	} {
		got := map[string]float64{}
		var order []string
		ok := Leaves(js, func(path []string, x float64) {
			k := strings.Join(path, "/")
			if _, dup := got[k]; dup {
				t.Errorf("%s: path %q reported twice", js, k)
			}
			got[k] = x
			order = append(order, k)
		})
		if !ok {
			t.Errorf("%s: not read", js)
		}
		for _, k := range order {
			var path []string
			if k != "" {
				path = strings.Split(k, "/")
			}
			want, ok := Number(js, path)
			if !ok || want != got[k] {
				t.Errorf("%s: Leaves %s = %v, Number = %v, %v", js, k, got[k], want, ok)
			}
		}
		if fmt.Sprint(len(got)) == "" {
			t.Fatal()
		}
	}
	want := "a=1 b/c=2.5 b/f/g=-0.001 "
	var b strings.Builder
	Leaves(`{"a":1,"b":{"c":2.5,"d":[3],"e":"4","f":{"g":-1e-3}},"h":true}`, func(p []string, x float64) {
		fmt.Fprintf(&b, "%s=%v ", strings.Join(p, "/"), x)
	})
	if b.String() != want {
		t.Errorf("leaves %q, want %q", b.String(), want)
	}
	b.Reset()
	Leaves(`{"a":1,"a":2}`, func(p []string, x float64) { fmt.Fprintf(&b, "%s=%v ", strings.Join(p, "/"), x) })
	if b.String() != "a=1 " {
		t.Errorf("duplicate key: %q, want the first", b.String())
	}
	// Past the short list of keys an object is checked against (8), and
	// a duplicate of a key from before and after that point.
	b.Reset()
	Leaves(`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k0":10,"k9":11,"k7":12}`,
		func(p []string, x float64) { fmt.Fprintf(&b, "%s=%v ", strings.Join(p, "/"), x) })
	if want := "k0=0 k1=1 k2=2 k3=3 k4=4 k5=5 k6=6 k7=7 k8=8 k9=9 "; b.String() != want {
		t.Errorf("duplicates in a large object: %q, want %q", b.String(), want)
	}
}
