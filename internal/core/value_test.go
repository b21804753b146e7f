package core

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
)

// ValueProblem refuses what the Rust crate or encoding/json cannot read
// back, and nothing else.
func TestValueProblem(t *testing.T) {
	for _, tc := range []struct {
		js   string
		says string // "" when the value is fine
	}{
		{`1`, ""},
		{`{"value":0.93,"city":"vienna"}`, ""},
		{`1e308`, ""},
		{`-1.7976931348623157e308`, ""},
		{`1E+308`, ""},
		{`1e-400`, ""}, // underflows to 0 in both readers, without an error
		{`0e999999`, ""},
		{`4.9e-324`, ""},
		{`9223372036854775808`, ""}, // beyond int64 and 2^53: read as a float by the crate, but read
		{strings.Repeat("9", 308), ""},
		{`1e400`, "the number 1e400, beyond float64's range"},
		{`-1e400`, "the number -1e400"},
		{`1e309`, "the number 1e309"},
		{`1.7976931348623159e308`, "the number 1.7976931348623159e308"},
		{`[1,{"a":[2,1E+400]}]`, "the number 1E+400"},
		{"1" + strings.Repeat("0", 400), "(401 bytes)"},
		{`"1e400"`, ""}, // a string, not a number
		{`"\u0041\n\\u\"\ud83d\ude00"`, ""},
		{`"\uD83D\uDE00"`, ""},
		{`{"\ud800":1}`, `lone surrogate \ud800`},
		{`"\ud800"`, `lone surrogate \ud800`},
		{`"\udc00"`, `lone surrogate \udc00`},
		{`"\uDFFF"`, `lone surrogate \uDFFF`},
		{`"a\ud800b"`, `lone surrogate \ud800`},
		{`"\ud800\u0041"`, `lone surrogate \ud800`},
		{`"\ud800\ud800"`, `lone surrogate \ud800`},
		{`"\ude00\ud83d"`, `lone surrogate \ude00`},
		{`"\\ud800"`, ""}, // an escaped backslash, then text
		{`["\ud83d\ude00", "\ud83d"]`, `lone surrogate \ud83d`},
		{strings.Repeat("[", MaxJSONDepth) + strings.Repeat("]", MaxJSONDepth), ""},
		{strings.Repeat("[", MaxJSONDepth+1) + strings.Repeat("]", MaxJSONDepth+1), "nests more than 10000 levels"},
	} {
		// json.Valid refuses the deepest value itself.
		if !json.Valid([]byte(tc.js)) && !strings.Contains(tc.says, "nests") {
			t.Fatalf("test value %.40s is not valid JSON", tc.js)
		}
		got := ValueProblem([]byte(tc.js))
		switch {
		case tc.says == "" && got != "":
			t.Errorf("%.40s: refused: %s", tc.js, got)
		case tc.says != "" && !strings.Contains(got, tc.says):
			t.Errorf("%.40s: got %q, want it to say %q", tc.js, got, tc.says)
		}
	}
}

// Every number ValueProblem accepts decodes into a float64 with
// encoding/json; every one it refuses does not.
func TestValueProblemAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range []string{"1e308", "1.7976931348623157e308", "1.7976931348623158e308",
		"1.7976931348623159e308", "17976931348623158" + strings.Repeat("0", 292), "1e-400", "-1e309",
		strconv.FormatFloat(math.MaxFloat64, 'g', -1, 64), strconv.FormatFloat(-math.MaxFloat64, 'f', -1, 64)} {
		var f float64
		decodes := json.Unmarshal([]byte(s), &f) == nil
		if refused := ValueProblem([]byte(s)) != ""; refused == decodes {
			t.Errorf("%.30s: refused %v, encoding/json decodes it %v", s, refused, decodes)
		}
	}
}

// BenchmarkValueProblem is the check every stored value pays, next to the
// nesting-depth scan it replaced (depthOnly), on the same values.
func BenchmarkValueProblem(b *testing.B) {
	for _, v := range []struct{ name, js string }{
		{"struct", `{"value":0.93,"city":"vienna"}`},
		{"exponent", `{"value":1e-9,"city":"vienna"}`},
		{"escapes", `{"value":0.93,"city":"\u0076ienna \ud83d\ude00"}`},
		{"1KiB", `{"values":[` + strings.Repeat(`12.5,`, 200) + `1],"city":"vienna"}`},
	} {
		js := []byte(v.js)
		b.Run(v.name+"/check", func(b *testing.B) {
			for b.Loop() {
				if ValueProblem(js) != "" {
					b.Fatal("refused")
				}
			}
		})
		b.Run(v.name+"/depthOnly", func(b *testing.B) {
			for b.Loop() {
				if depthOnly(js) > MaxJSONDepth {
					b.Fatal("too deep")
				}
			}
		})
	}
}

// depthOnly is the scan Store ran before ValueProblem: the deepest nesting
// of objects and arrays.
func depthOnly(js []byte) int {
	depth, deepest, inString, escaped := 0, 0, false, false
	for _, c := range js {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}
