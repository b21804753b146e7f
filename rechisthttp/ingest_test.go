package rechisthttp

import (
	"encoding/json"
	"fmt"
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
		{`{"name":"","value":1}`, `record name is empty`},
		{`{"name":"bad","value":1e400}`, `beyond float64's range`},
		{`{"name":"bad","value":{"v":[1,-2e999]}}`, `beyond float64's range`},
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

// A body with several bad lines is refused with every one of them (up to
// a hundred) in one answer, whatever makes each bad: its JSON, its time,
// or what the store would refuse (an empty name, a number beyond
// float64's range). Before, the last two showed up only on a resubmit.
func TestIngestReportsEveryBadLineAtOnce(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	h := NewHandler(db, Writable())
	body := strings.Join([]string{
		`{"name":"ok","value":1}`,
		`{"name":"","value":2}`,
		`{"name":"big","value":1e400}`,
		`{"name":"secs","value":3,"at":1764000000}`,
		`not json`,
		`{"name":"ok2","value":4}`,
	}, "\n")
	a := do(t, h, "POST", "/api/ingest", strings.NewReader(body))
	var got ingestAnswer
	_ = json.Unmarshal(a.body, &got)
	var lines []int
	for _, l := range got.Lines {
		lines = append(lines, l.Line)
	}
	if a.code != 400 || fmt.Sprint(lines) != "[2 3 4 5]" || !strings.Contains(got.Error, "nothing was stored") {
		t.Fatalf("ingest: %d %s\nwant 400 naming lines 2, 3, 4 and 5, nothing stored", a.code, a.body)
	}
	if q := decodeQuery(t, do(t, h, "GET", "/api/query?limit=0", nil)); q.Total != 0 {
		t.Errorf("a refused ingest stored %+v", q.Records)
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

// start and end read as the command line reads --start and --end (and
// ingest "at"): Unix milliseconds, refusing a number that looks like
// seconds with the CLI's words, or RFC 3339; before 1970 is refused. Before,
// start=1733338000 was read as 1970-01-21 and RFC 3339 was refused.
func TestRangeParamsReadTheCLITimeForms(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	store(t, db, "r::a", 1795593600000, `1`)
	store(t, db, "r::a", 1795597200000, `2`)
	h := NewHandler(db)
	for _, path := range []string{"/api/query", "/api/export", "/api/records", "/api/aggregate"} {
		for _, tc := range []struct{ query, want string }{
			{"start=1733338000", "looks like seconds; multiply by 1000"},
			{"end=1733338000", "looks like seconds; multiply by 1000"},
			{"start=1969-12-31T23:00:00Z", "before the Unix epoch"},
			{"start=yesterday", "want RFC 3339"},
		} {
			a := do(t, h, "GET", path+"?pattern=r::*&every=1h&"+tc.query, nil)
			if a.code != 400 || !strings.Contains(string(a.body), tc.want) {
				t.Errorf("GET %s?%s: %d %s, want 400 saying %q", path, tc.query, a.code, a.body, tc.want)
			}
		}
	}
	for _, q := range []string{"start=2026-11-25T09:30:00%2B01:00", "start=1795595400000"} {
		got := decodeQuery(t, do(t, h, "GET", "/api/query?limit=0&pattern=r::*&"+q, nil))
		if got.Total != 1 || got.Records[0].TS != 1795597200000 {
			t.Errorf("query %s: %+v, want the row at 1795597200000 alone", q, got)
		}
	}
}
