package rechisthttp

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// ingestAnswer is a refused ingest's body.
type ingestAnswer struct {
	Error string      `json:"error"`
	Lines []lineError `json:"lines"`
}

// POST /api/ingest reads lines as `rechist ingest` does: an explicit "at"
// before the Unix epoch (the zero time too) is refused rather than stored
// as now, a Unix number that looks like seconds is refused, field names are
// exact and given once, and a name may not hold a lone surrogate. A refused
// line stores nothing of the body, not even the good line before it.
func TestIngestRefusesWhatTheCLIRefuses(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	h := NewHandler(db, Writable())
	for _, tc := range []struct{ line, want string }{
		{`{"name":"bad","value":1,"at":"0001-01-01T00:00:00Z"}`, `"at" "0001-01-01T00:00:00Z" is before the Unix epoch`},
		{`{"name":"bad","value":1,"at":"1969-12-31T23:59:59Z"}`, `is before the Unix epoch`},
		{`{"name":"bad","value":1,"at":-5}`, `"at" -5 is before the Unix epoch`},
		{`{"name":"bad","value":1,"at":1795593600}`, `"at" 1795593600: looks like seconds; multiply by 1000`},
		{`{"name":"bad","value":1,"at":"1795593600"}`, `looks like seconds`},
		{`{"name":"bad","value":1,"at":1.5}`, `not a whole number of Unix milliseconds`},
		{`{"name":"bad","value":1,"at":true}`, `"at" true is neither Unix milliseconds nor a time string`},
		{`{"Name":"bad","value":1}`, `unknown field "Name"`},
		{`{"name":"bad","VALUE":1}`, `unknown field "VALUE"`},
		{`{"name":"bad","name":"bad2","value":1}`, `field "name" appears twice`},
		{`{"name":"bad\ud800","value":1}`, `holds an escaped lone surrogate`},
		{`{"name":"bad\udc00x","value":1}`, `holds an escaped lone surrogate`},
		{"{\"name\":\"bad\xff\",\"value\":1}", `not valid UTF-8 (byte 13)`},
		{`{"name":"bad","value":1} 2`, `more than one JSON value on the line`},
		{`{"name":5,"value":1}`, `"name" 5 is not a string`},
	} {
		a := do(t, h, "POST", "/api/ingest", strings.NewReader(`{"name":"good","value":0,"at":1000}`+"\n"+tc.line+"\n"))
		var got ingestAnswer
		_ = json.Unmarshal(a.body, &got)
		if a.code != 400 || len(got.Lines) != 1 || got.Lines[0].Line != 2 || !strings.Contains(got.Lines[0].Error, tc.want) {
			t.Errorf("ingest of %s: %d %s\nwant 400 with line 2: %s", tc.line, a.code, a.body, tc.want)
		}
	}
	if q := decodeQuery(t, do(t, h, "GET", "/api/query?limit=0", nil)); q.Total != 0 {
		t.Errorf("refused ingests stored %+v", q.Records)
	}
}

// Every form of "at" that `rechist ingest` takes, the API takes, and
// stores at the same millisecond.
func TestIngestReadsTheCLITimeForms(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	h := NewHandler(db, Writable())
	body := strings.Join([]string{
		`{"name":"t::ms","value":1,"at":1795593600000}`,
		`{"name":"t::exp","value":2,"at":1.7955936e12}`,
		`{"name":"t::msstring","value":3,"at":"1795593600000"}`,
		`{"name":"t::rfc","value":4,"at":"2026-11-25T09:00:00+01:00"}`,
		`{"name":"t::epoch","value":5,"at":0}`,
		`{"name":"t::null","value":6,"at":null}`,
		`{"at":"1970-01-01T00:00:00.001Z","value":7,"name":"t::last"}`,
	}, "\n")
	before := time.Now().UnixMilli()
	a := do(t, h, "POST", "/api/ingest", strings.NewReader(body))
	after := time.Now().UnixMilli()
	if a.code != 200 || strings.TrimSpace(string(a.body)) != `{"stored":7}` {
		t.Fatalf("ingest: %d %s", a.code, a.body)
	}
	got := map[string]int64{}
	for _, r := range decodeQuery(t, do(t, h, "GET", "/api/query?pattern=t::*", nil)).Records {
		got[r.Topic] = r.TS
	}
	for name, want := range map[string]int64{
		"t::ms": 1795593600000, "t::exp": 1795593600000, "t::msstring": 1795593600000, "t::rfc": 1795593600000,
		"t::epoch": 0, "t::last": 1,
	} {
		if got[name] != want {
			t.Errorf("%s stored at %d, want %d", name, got[name], want)
		}
	}
	if n := got["t::null"]; n < before || n > after {
		t.Errorf(`"at":null stored at %d, not now (%d to %d)`, n, before, after)
	}
}
