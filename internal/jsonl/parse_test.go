package jsonl

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

var now = time.UnixMilli(1_800_000_000_123)

func TestParseLineAccepts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		line, name, value string
		at                int64 // Unix ms
	}{
		{`{"name":"a","value":1,"at":5000}`, "a", "1", 5000},
		{`{"name":"a","value":1}` + "\n", "a", "1", now.UnixMilli()},
		{`{"name":"a","value":1,"at":null}` + "\r\n", "a", "1", now.UnixMilli()},
		{`{"at":0,"value":{"x":[1,"at"]},"name":"a"}`, "a", `{"x":[1,"at"]}`, 0},
		{`{"name":"a","value":1,"at":1.7955936e12}`, "a", "1", 1795593600000},
		{`{"name":"a","value":1,"at":"1795593600000"}`, "a", "1", 1795593600000},
		{`{"name":"a","value":1,"at":"2026-11-25T08:00:00Z"}`, "a", "1", 1795593600000},
		{`{"name":"a","value":1,"at":"1970-01-01T00:00:00Z"}`, "a", "1", 0},
		{`{"name":"a","value":1,"at":9223372036854775807}`, "a", "1", 9223372036854775807},
		{`{"n\u0061me":"pair::\ud83d\ude00","value":null}`, "pair::😀", "null", now.UnixMilli()},
		{`{ "name" : "esc::\u0041\\u" , "value" : "x" }`, `esc::A\u`, `"x"`, now.UnixMilli()},
	} {
		rec, err := ParseLine([]byte(tc.line), now)
		if err != nil {
			t.Errorf("ParseLine(%s): %v", tc.line, err)
			continue
		}
		if rec.Name != tc.name || string(rec.Value) != tc.value || rec.StoredAt.UnixMilli() != tc.at {
			t.Errorf("ParseLine(%s) = %q %s %d, want %q %s %d", tc.line, rec.Name, rec.Value, rec.StoredAt.UnixMilli(), tc.name, tc.value, tc.at)
		}
	}
}

func TestParseLineRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ line, want string }{
		{"{\"name\":\"a\xffb\",\"value\":1}", "not valid UTF-8 (byte 11)"},
		{`{"Name":"a","value":1}`, `unknown field "Name"`},
		{`{"name":"a","VALUE":1}`, `unknown field "VALUE"`},
		{`{"name":"a","value":1,"At":5000}`, `unknown field "At"`},
		{`{"name":"a","value":1,"time":5000}`, `unknown field "time" (the fields are "name", "value" and "at")`},
		{`{"name":"a","name":"b","value":1}`, `field "name" appears twice`},
		{`{"name":"a","value":1,"value":2}`, `field "value" appears twice`},
		{`{"name":"a","value":1,"at":1,"\u0061t":2}`, `field "at" appears twice`},
		{`{"name":"x\ud800y","value":1}`, `"name" "x\ud800y" holds an escaped lone surrogate, which is not UTF-8`},
		{`{"name":"x\udc00","value":1}`, `holds an escaped lone surrogate`},
		{`{"name":"x\ud800\u0041","value":1}`, `holds an escaped lone surrogate`},
		{`{"name":5,"value":1}`, `"name" 5 is not a string`},
		{`{"name":null,"value":1}`, `"name" null is not a string`},
		{`{"value":1}`, `"name" is missing`},
		{`{"name":"a"}`, `"value" is missing`},
		{`[{"name":"a","value":1}]`, `not a JSON record: want an object such as {"name": "a", "value": 1}, not array`},
		{`{"name":"a","value":1} {"name":"b","value":1}`, "more than one JSON value on the line"},
		{`{"name":"a","value":1`, "not a JSON record: the line ends inside it"},
		{`not json`, "not a JSON record: invalid character"},
		{`{"name":"a","value":1,"at":"0001-01-01T00:00:00Z"}`, `"at" "0001-01-01T00:00:00Z" is before the Unix epoch (1970-01-01T00:00:00Z), the earliest time rechist stores`},
		{`{"name":"a","value":1,"at":"1969-12-31T23:59:59.999Z"}`, `is before the Unix epoch`},
		{`{"name":"a","value":1,"at":-5}`, `"at" -5 is before the Unix epoch`},
		{`{"name":"a","value":1,"at":"-1"}`, `"at" "-1" is before the Unix epoch`},
		{`{"name":"a","value":1,"at":-9223372036854775808}`, `is before the Unix epoch`},
		{`{"name":"a","value":1,"at":1795593600}`, `"at" 1795593600: looks like seconds; multiply by 1000 (rechist reads Unix milliseconds)`},
		{`{"name":"a","value":1,"at":"1795593600"}`, `"at": bad time "1795593600": looks like seconds`},
		{`{"name":"a","value":1,"at":1.5}`, `"at" 1.5: not a whole number of Unix milliseconds`},
		{`{"name":"a","value":1,"at":1e100}`, `"at" 1e100: out of the range of Unix milliseconds`},
		{`{"name":"a","value":1,"at":1e1000}`, `"at" 1e1000: not a number`},
		{`{"name":"a","value":1,"at":"yesterday"}`, `"at": bad time "yesterday": want RFC 3339`},
		{`{"name":"a","value":1,"at":true}`, `"at" true is neither Unix milliseconds nor a time string`},
		{`{"name":"a","value":1,"at":{}}`, `"at" {} is neither Unix milliseconds nor a time string`},
	} {
		rec, err := ParseLine([]byte(tc.line), now)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseLine(%s) = %+v, %v; want an error with %q", tc.line, rec, err, tc.want)
			continue
		}
		if !errors.Is(err, rechist.ErrInvalidArgument) || strings.Contains(err.Error(), "invalid argument") {
			t.Errorf("ParseLine(%s): %v should wrap ErrInvalidArgument without its text", tc.line, err)
		}
	}
}

// Encode writes what ParseLine reads back, with the value compacted and
// names and values unescaped (<, > and & as they are).
func TestEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	enc := NewEncoder(&b)
	in := []rechist.Record[json.RawMessage]{
		{Name: `a<&>"\b`, Value: json.RawMessage(`{ "x" : "<p>" }`), StoredAt: time.UnixMilli(1795593600123)},
		{Name: "pair::😀", Value: json.RawMessage(`null`), StoredAt: time.UnixMilli(0)},
	}
	for _, rec := range in {
		if err := enc.Encode(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Encode(rechist.Record[json.RawMessage]{Name: "bad", Value: json.RawMessage(`{`)}); err == nil {
		t.Error("Encode of a value that is not JSON: no error")
	}
	want := `{"name":"a<&>\"\\b","value":{"x":"<p>"},"at":1795593600123}` + "\n" + `{"name":"pair::😀","value":null,"at":0}` + "\n"
	if b.String() != want {
		t.Fatalf("Encode wrote\n%s\nwant\n%s", b.String(), want)
	}
	for i, text := range strings.SplitAfter(strings.TrimSuffix(b.String(), "\n"), "\n") {
		rec, err := ParseLine([]byte(text), now)
		if err != nil || rec.Name != in[i].Name || !rec.StoredAt.Equal(in[i].StoredAt) {
			t.Errorf("ParseLine(%s) = %+v, %v; want %+v", text, rec, err, in[i])
		}
	}
}
