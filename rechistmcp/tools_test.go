package rechistmcp

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/seed178a96f3/rechist"
)

// The tool list: every tool named, described, with an object schema that
// refuses unknown arguments, marked read-only; store_value only when
// writable.
func TestToolsListed(t *testing.T) {
	f := fill(t)
	for _, writable := range []bool{false, true} {
		var opts []Option
		if writable {
			opts = append(opts, Writable())
		}
		cs := connectHTTP(t, openRead(t, f.path), append(opts, at(f.now))...)
		res, err := cs.ListTools(callCtx(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tool := range res.Tools {
			names = append(names, tool.Name)
			s, _ := tool.InputSchema.(map[string]any)
			if len(tool.Description) < 80 || s["type"] != "object" || s["additionalProperties"] != false {
				t.Errorf("%s: description %q, schema %v", tool.Name, tool.Description, tool.InputSchema)
			}
			if tool.OutputSchema == nil {
				t.Errorf("%s has no output schema", tool.Name)
			}
			if ro := tool.Annotations != nil && tool.Annotations.ReadOnlyHint; ro != (tool.Name != "store_value") {
				t.Errorf("%s: readOnlyHint %v", tool.Name, ro)
			}
		}
		slices.Sort(names)
		want := []string{"aggregate", "latest_values", "list_records", "query_history", "stale_records"}
		if writable {
			want = []string{"aggregate", "latest_values", "list_records", "query_history", "stale_records", "store_value"}
		}
		if !slices.Equal(names, want) {
			t.Errorf("writable=%v: tools %v, want %v", writable, names, want)
		}
		if ins := cs.InitializeResult().Instructions; !strings.Contains(ins, "list_records") {
			t.Errorf("instructions: %q", ins)
		}
	}
}

func TestListRecords(t *testing.T) {
	f := fill(t)
	cs := connectHTTP(t, openRead(t, f.path), at(f.now))
	out := call[listOut](t, cs, "list_records", nil)
	var got []string
	for _, r := range out.Records {
		got = append(got, r.Name)
	}
	if !slices.Equal(got, []string{"accuracy::vienna", "blob::big", "temperature::graz", "temperature::vienna"}) || out.Total != 4 || out.Truncated {
		t.Fatalf("records %v total %d truncated %v", got, out.Total, out.Truncated)
	}
	vienna := out.Records[3]
	wantRows := int64(7*24*6 + 1 - 12)
	if vienna.Rows != wantRows || vienna.First != rfc(f.now.Add(-7*24*time.Hour)) || vienna.Last != rfc(f.now.Add(-2*time.Hour)) {
		t.Errorf("vienna: %+v, want %d rows from %s to %s", vienna, wantRows, rfc(f.now.Add(-7*24*time.Hour)), rfc(f.now.Add(-2*time.Hour)))
	}
	if vienna.SilentFor != "2h" {
		t.Errorf("vienna silent for %q, want 2h", vienna.SilentFor)
	}

	// A pattern, a limit that cuts, and another zone.
	out = call[listOut](t, cs, "list_records", map[string]any{"pattern": "temperature::*", "limit": 1, "tz": "Asia/Kolkata"})
	if len(out.Records) != 1 || out.Total != 2 || !out.Truncated || !strings.Contains(out.Note, "first 1 of 2") {
		t.Fatalf("limit 1: %+v", out)
	}
	if want := f.now.Add(-7 * 24 * time.Hour).In(mustZone(t, "Asia/Kolkata")).Format(time.RFC3339Nano); out.Records[0].First != want || !strings.HasSuffix(want, "+05:30") {
		t.Errorf("first in Kolkata %q, want %q", out.Records[0].First, want)
	}
}

func TestLatestValues(t *testing.T) {
	f := fill(t)
	cs := connectHTTP(t, openRead(t, f.path), at(f.now))
	out := call[latestOut](t, cs, "latest_values", map[string]any{"pattern": "temperature::*", "n": 2})
	var got []string
	for _, v := range out.Values {
		got = append(got, v.Name+"@"+v.At+"="+string(mustJSON(t, v.Value)))
	}
	celsius := func(at time.Time, sign float64) string {
		return `{"celsius":` + strings.TrimSuffix(formatG(sign*(float64(at.Hour())+float64(at.Minute())/100)), ".0") + `}`
	}
	g0, g1 := f.now, f.now.Add(-10*time.Minute)
	v0, v1 := f.now.Add(-2*time.Hour), f.now.Add(-2*time.Hour-10*time.Minute)
	want := []string{
		"temperature::graz@" + rfc(g0) + "=" + celsius(g0, -1),
		"temperature::graz@" + rfc(g1) + "=" + celsius(g1, -1),
		"temperature::vienna@" + rfc(v0) + "=" + celsius(v0, 1),
		"temperature::vienna@" + rfc(v1) + "=" + celsius(v1, 1),
	}
	if !slices.Equal(got, want) || out.Records != 2 || out.Shown != 2 || out.Truncated {
		t.Fatalf("latest n=2:\n got %v\nwant %v\n%+v", got, want, out)
	}
	// Cut at one record: the total still counts every record with rows.
	out = call[latestOut](t, cs, "latest_values", map[string]any{"limit": 1})
	if out.Records != 4 || out.Shown != 1 || !out.Truncated || len(out.Values) != 1 || out.Note != "showing 1 of 4 records by name (at most 1000 values, 256 KiB); narrow the pattern or raise limit" {
		t.Fatalf("limit 1: %+v", out)
	}
	// A value too long to show whole comes as a preview with its size.
	out = call[latestOut](t, cs, "latest_values", map[string]any{"pattern": "blob::big"})
	if len(out.Values) != 1 || out.Values[0].Value != nil || out.Values[0].Bytes != 10002 || !strings.HasPrefix(out.Values[0].Preview, `"éé`) || len(out.Values[0].Preview) > 2048+3 {
		t.Fatalf("big value: %+v", out.Values)
	}
}

// History in a range given relative to now: the newest rows by default,
// the oldest on request, and the exact total of the range.
func TestQueryHistory(t *testing.T) {
	f := fill(t)
	cs := connectHTTP(t, openRead(t, f.path), at(f.now))
	var inRange []point
	for _, p := range f.points {
		if p.name == "temperature::vienna" && !p.at.Before(f.now.Add(-24*time.Hour)) {
			inRange = append(inRange, p)
		}
	}
	out := call[historyOut](t, cs, "query_history", map[string]any{"pattern": "temperature::vienna", "start": "1d", "limit": 5})
	if out.Total != len(inRange) || !out.TotalExact || out.Returned != 5 || !out.Truncated || !strings.Contains(out.Note, "truncated: showing the newest 5 of") {
		t.Fatalf("1d limit 5: %+v (want total %d)", out, len(inRange))
	}
	for i, r := range out.Rows {
		if p := inRange[len(inRange)-5+i]; r.At != rfc(p.at) {
			t.Errorf("row %d at %s, want %s", i, r.At, rfc(p.at))
		}
	}
	out = call[historyOut](t, cs, "query_history", map[string]any{"pattern": "temperature::vienna", "start": rfc(inRange[0].at), "end": rfc(inRange[2].at), "order": "oldest"})
	if out.Total != 3 || out.Truncated || len(out.Rows) != 3 || out.Rows[0].At != rfc(inRange[0].at) || out.Note != "" {
		t.Fatalf("3 rows: %+v", out)
	}
	// A local date and time, read in the call's zone.
	vie := mustZone(t, "Europe/Vienna")
	local := inRange[0].at.In(vie)
	out = call[historyOut](t, cs, "query_history", map[string]any{"pattern": "temperature::vienna", "start": local.Format("2006-01-02 15:04"), "end": local.Format("2006-01-02 15:04"), "tz": "Europe/Vienna"})
	if out.Total != 1 || out.Rows[0].At != local.Format(time.RFC3339Nano) {
		t.Fatalf("local time %s in Vienna: %+v", local.Format("2006-01-02 15:04"), out)
	}
}

// A huge result: every row of the file asked for, the default limit shows
// 100, says how many there are and how to ask better.
func TestHugeResultTruncatedWithNote(t *testing.T) {
	f := fill(t)
	cs := connectHTTP(t, openRead(t, f.path), at(f.now))
	res := callRaw(t, cs, "query_history", map[string]any{"pattern": "*"})
	if res.IsError {
		t.Fatal(text(res))
	}
	out := call[historyOut](t, cs, "query_history", map[string]any{"pattern": "*"})
	total := len(f.points) + 4
	if out.Returned != 100 || out.Total != total || !out.Truncated ||
		out.Note != "truncated: showing the newest 100 of "+itoa(total)+" rows; narrow the range, raise limit (at most 1000), or use aggregate for the trend" {
		t.Fatalf("huge: returned %d total %d truncated %v note %q", out.Returned, out.Total, out.Truncated, out.Note)
	}
	if n := len(text(res)); n > 40_000 {
		t.Errorf("the result is %d bytes of text", n)
	}
	// The most a call may ask is bounded too.
	res = callRaw(t, cs, "query_history", map[string]any{"pattern": "*", "limit": 100_000})
	if !res.IsError || !strings.Contains(text(res), "/properties/limit: maximum: 100000/1 is greater than 1000") {
		t.Fatalf("limit 100000: %v %s", res.IsError, text(res))
	}
}

// Aggregate checked against the fixture's own arithmetic: daily buckets in
// UTC, then aligned to Vienna's midnight.
func TestAggregate(t *testing.T) {
	f := fill(t)
	cs := connectHTTP(t, openRead(t, f.path), at(f.now))
	for _, tz := range []string{"UTC", "Europe/Vienna"} {
		loc := mustZone(t, tz)
		out := call[aggregateOut](t, cs, "aggregate", map[string]any{"pattern": "temperature::vienna", "field": "celsius", "every": "1d", "start": "7d", "tz": tz})
		if len(out.Series) != 1 || out.Series[0].Name != "temperature::vienna" || out.Truncated || out.Zone != tz {
			t.Fatalf("%s: %+v", tz, out)
		}
		// The expected buckets: the points at or after now-7d, by local day.
		var days []time.Time
		byDay := map[time.Time][]float64{}
		for _, p := range f.points {
			if p.name != "temperature::vienna" || p.at.Before(f.now.Add(-7*24*time.Hour)) {
				continue
			}
			l := p.at.In(loc)
			d := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
			if _, ok := byDay[d]; !ok {
				days = append(days, d)
			}
			byDay[d] = append(byDay[d], p.celsius)
		}
		got := out.Series[0].Buckets
		if len(got) != len(days) {
			t.Fatalf("%s: %d buckets, want %d", tz, len(got), len(days))
		}
		for i, d := range days {
			want := summarize(byDay[d])
			b := got[i]
			g := stats{b.Count, b.Min, b.Max, b.Mean, b.First, b.Last}
			if b.Start != d.Format(time.RFC3339Nano) || g.count != want.count || g.min != want.min || g.max != want.max ||
				math.Abs(g.mean-want.mean) > 1e-9 || g.first != want.first || g.last != want.last {
				t.Errorf("%s bucket %d: %s %v, want %s %v", tz, i, b.Start, g, d.Format(time.RFC3339Nano), want)
			}
		}
	}
	// Too many buckets in all: the newest of each series, with a note.
	out := call[aggregateOut](t, cs, "aggregate", map[string]any{"pattern": "temperature::*", "field": "celsius", "every": "1h", "limit": 10})
	if !out.Truncated || out.Returned != 10 || len(out.Series) != 2 || len(out.Series[0].Buckets) != 5 || out.Total != out.Series[0].Total+out.Series[1].Total ||
		out.Series[0].Buckets[4].Start != rfc(f.now.Truncate(time.Hour)) || !strings.Contains(out.Note, "the newest 5 of each series at most") {
		t.Fatalf("limit 10: %+v", out)
	}
}

func TestStaleRecords(t *testing.T) {
	f := fill(t)
	cs := connectHTTP(t, openRead(t, f.path), at(f.now))
	out := call[staleOut](t, cs, "stale_records", map[string]any{"pattern": "temperature::*", "older_than": "1h"})
	if out.Total != 1 || len(out.Stale) != 1 || out.Reporting != 1 || out.Stale[0].Name != "temperature::vienna" || out.Stale[0].Last != rfc(f.now.Add(-2*time.Hour)) {
		t.Fatalf("older than 1h: %+v", out)
	}
	out = call[staleOut](t, cs, "stale_records", map[string]any{"older_than": "3h"})
	if out.Total != 0 || out.Reporting != 4 || !strings.Contains(out.Note, "all 4 matching records") {
		t.Fatalf("older than 3h: %+v", out)
	}
	// Longest silent first.
	out = call[staleOut](t, cs, "stale_records", map[string]any{"older_than": "30s"})
	var got []string
	for _, r := range out.Stale {
		got = append(got, r.Name)
	}
	if !slices.Equal(got, []string{"temperature::vienna", "blob::big", "accuracy::vienna"}) {
		t.Fatalf("older than 30s: %v", got)
	}
}

// Bad arguments answer tool errors the assistant can read and act on,
// never protocol errors; an unknown tool is a protocol error.
func TestBadArgumentsAreToolErrors(t *testing.T) {
	f := fill(t)
	cs := connectHTTP(t, openRead(t, f.path), at(f.now))
	for _, c := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"query_history", map[string]any{"pattern": "temperature::*", "start": "yesterday"}, `start: bad time "yesterday"`},
		{"query_history", map[string]any{"pattern": "temperature::*", "start": "1d", "end": "2d"}, "is after end"},
		{"query_history", map[string]any{"pattern": "temperature::*", "start": "1960-01-01T00:00:00Z"}, "before 1970-01-01"},
		{"query_history", map[string]any{"start": "1d"}, `missing properties: ["pattern"]`},
		{"query_history", map[string]any{"pattern": "x", "order": "random"}, "/properties/order: enum: random does not equal any of: [newest oldest]"},
		{"list_records", map[string]any{"limit": -1}, "/properties/limit: minimum: -1/1 is less than 1"},
		{"list_records", map[string]any{"patern": "x"}, `unexpected additional properties ["patern"]`},
		{"list_records", map[string]any{"tz": "Mars/Olympus"}, `tz "Mars/Olympus" is not a time zone`},
		{"list_records", map[string]any{"pattern": 5}, `/properties/pattern: type: 5 has type "integer", want "string"`},
		{"latest_values", map[string]any{"n": 1000}, "/properties/n: maximum: 1000/1 is greater than 100"},
		{"aggregate", map[string]any{"pattern": "temperature::*"}, `missing properties: ["every"]`},
		{"aggregate", map[string]any{"pattern": "temperature::*", "every": "0s"}, `every: bad duration "0s": must be positive`},
		{"aggregate", map[string]any{"pattern": "temperature::*", "every": "1ms"}, "every 1ms over this range and 2 records makes up to 1202400002 buckets, more than 200000: use a wider every"},
		{"stale_records", map[string]any{"older_than": "soon"}, `bad duration "soon"`},
	} {
		res := callRaw(t, cs, c.tool, c.args)
		if !res.IsError || !strings.Contains(text(res), c.want) {
			t.Errorf("%s %v: isError %v, %q; want a tool error with %q", c.tool, c.args, res.IsError, text(res), c.want)
		}
	}
	if _, err := cs.CallTool(callCtx(t), &mcp.CallToolParams{Name: "drop_table", Arguments: map[string]any{}}); err == nil || !strings.Contains(err.Error(), `unknown tool "drop_table"`) {
		t.Error("an unknown tool answered without a protocol error")
	}
}

// Writable: store_value stores, the next read sees it; on a read-only DB
// the tool is absent.
func TestStoreValue(t *testing.T) {
	f := fill(t)
	db, err := openWrite(t, f.path)
	if err != nil {
		t.Fatal(err)
	}
	cs := connectHTTP(t, db, Writable(), at(f.now))
	at := f.now.Add(-30 * time.Second)
	st := call[storeOut](t, cs, "store_value", map[string]any{"name": "notes::vienna", "value": map[string]any{"text": "sensor replaced"}, "at": rfc(at)})
	if !st.Stored || st.At != rfc(at) {
		t.Fatalf("store: %+v", st)
	}
	out := call[latestOut](t, cs, "latest_values", map[string]any{"pattern": "notes::*"})
	if len(out.Values) != 1 || string(mustJSON(t, out.Values[0].Value)) != `{"text":"sensor replaced"}` || out.Values[0].At != rfc(at) {
		t.Fatalf("after store: %+v", out)
	}
	res := callRaw(t, cs, "store_value", map[string]any{"name": "", "value": 1})
	if !res.IsError || !strings.Contains(text(res), "/properties/name: minLength") {
		t.Fatalf("empty name stored: %s", text(res))
	}
	res = callRaw(t, cs, "store_value", map[string]any{"name": "x"})
	if !res.IsError || !strings.Contains(text(res), `missing properties: ["value"]`) {
		t.Fatalf("missing value: %v %s", res.IsError, text(res))
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// With topic patterns the default pattern is "#" and the schemas say how
// topics match.
func TestTopicPatterns(t *testing.T) {
	f := fill(t)
	cs := connectHTTP(t, openRead(t, f.path, rechist.WithTopicPatterns()), at(f.now), TopicPatterns())
	out := call[listOut](t, cs, "list_records", nil)
	if out.Total != 4 {
		t.Fatalf("default pattern under topics: %+v", out)
	}
	if out := call[listOut](t, cs, "list_records", map[string]any{"pattern": "temperature::*"}); out.Total != 0 || !strings.Contains(out.Note, "no records match") {
		t.Fatalf("a '*' inside a segment is literal under topics: %+v", out)
	}
	res, err := cs.ListTools(callCtx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(res.Tools[0].InputSchema); !strings.Contains(string(b), "AimDB topic patterns") {
		t.Errorf("schema: %s", b)
	}
}

// With a rollup tier, aggregate says which tier served, and its answers
// are those of the raw rows.
func TestAggregateFromRollupTier(t *testing.T) {
	f := fill(t)
	db, err := openWrite(t, f.path)
	if err != nil {
		t.Fatal(err)
	}
	args := map[string]any{"pattern": "temperature::graz", "field": "celsius", "every": "1d"}
	cs := connectHTTP(t, db, at(f.now))
	raw := call[aggregateOut](t, cs, "aggregate", args)
	if err := db.SetPolicy(t.Context(), rechist.Policy{Pattern: "temperature::*", Tiers: []rechist.Tier{{Every: time.Hour}}}); err != nil {
		t.Fatal(err)
	}
	tiered := call[aggregateOut](t, cs, "aggregate", args)
	if raw.Series[0].Tier != "" || tiered.Series[0].Tier != "1h" {
		t.Fatalf("tiers: raw %q, tiered %q", raw.Series[0].Tier, tiered.Series[0].Tier)
	}
	rb, tb := mustJSON(t, raw.Series[0].Buckets), mustJSON(t, tiered.Series[0].Buckets)
	if string(rb) != string(tb) {
		t.Errorf("tiered buckets differ:\n%s\n%s", rb, tb)
	}
	list := call[listOut](t, cs, "list_records", map[string]any{"pattern": "temperature::graz"})
	if r := list.Records[0]; len(r.Tiers) != 1 || r.Tiers[0] != "1h" || len(r.Fields) != 1 || r.Fields[0] != "celsius" {
		t.Errorf("list_records: %+v", r)
	}
}
