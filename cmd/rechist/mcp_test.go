package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/seed178a96f3/rechist"
)

// mcpSession starts `rechist --db d.db mcp ARGS` in dir as a subprocess
// and connects the SDK's client to it over the command transport. The
// returned stop closes the session and returns the server's exit error
// and standard error.
func mcpSession(t *testing.T, dir string, args ...string) (*mcp.ClientSession, func() (error, string)) {
	t.Helper()
	cmd := command(dir, nil, append([]string{"--db", "d.db", "mcp"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "rechist-cli-test", Version: "v0"}, nil)
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd, TerminateDuration: 10 * time.Second}, nil)
	if err != nil {
		t.Fatalf("starting rechist mcp: %v", err)
	}
	stopped := false
	stop := func() (error, string) {
		stopped = true
		err := cs.Close()
		return err, stderr.String()
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return cs, stop
}

// mcpCall calls a tool and decodes its structured result; a protocol
// error fails the test, a tool error is returned as isError.
func mcpCall(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any, out any) (isError bool, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s %v: protocol error %v", name, args, err)
	}
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text += tc.Text
		}
	}
	if !res.IsError && out != nil {
		b, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: %s: %v", name, b, err)
		}
	}
	return res.IsError, text
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// rechist mcp over standard input and output, driven by the SDK's own
// client: the tools are listed, each answers on the demo file what the
// library answers in process, a bad argument is a tool error, and the
// file is not changed.
func TestMCPOverStdio(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, "", "--db", "d.db", "demo", "--days", "2", "--cities", "3")
	path := filepath.Join(dir, "d.db")
	before := fileSum(t, path)

	db, err := rechist.Open(t.Context(), path, rechist.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	infos, err := db.Records(t.Context(), "*")
	if err != nil {
		t.Fatal(err)
	}

	cs, stop := mcpSession(t, dir)
	lctx, lcancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer lcancel()
	tools, err := cs.ListTools(lctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	if want := []string{"aggregate", "latest_values", "list_records", "query_history", "stale_records"}; !slices.Equal(names, want) {
		t.Fatalf("tools %v, want %v (read-only: no store_value)", names, want)
	}

	// list_records: every record with its rows and span, as the library says.
	var list struct {
		Records []struct {
			Name        string
			Rows        int64
			First, Last string
		}
		Total int
	}
	if isErr, txt := mcpCall(t, cs, "list_records", nil, &list); isErr {
		t.Fatal(txt)
	}
	if list.Total != 6 || len(list.Records) != len(infos) {
		t.Fatalf("list_records: %+v", list)
	}
	for i, r := range list.Records {
		in := infos[i]
		if r.Name != in.Name || r.Rows != in.Rows || r.Rows != 2*24*60 || r.First != in.First.Format(time.RFC3339Nano) || r.Last != in.Last.Format(time.RFC3339Nano) {
			t.Errorf("record %d: %+v, library: %+v", i, r, in)
		}
	}
	vienna := infos[slices.IndexFunc(infos, func(r rechist.RecordInfo) bool { return r.Name == "temperature::vienna" })]

	// latest_values: the newest value byte for byte.
	latest, err := rechist.NewRepo[json.RawMessage](db).Latest(t.Context(), "temperature::vienna")
	if err != nil {
		t.Fatal(err)
	}
	var lv struct {
		Values []struct {
			Name, At string
			Value    json.RawMessage
		}
	}
	if isErr, txt := mcpCall(t, cs, "latest_values", map[string]any{"pattern": "temperature::vienna"}, &lv); isErr {
		t.Fatal(txt)
	}
	if len(lv.Values) != 1 || lv.Values[0].At != latest.StoredAt.Format(time.RFC3339Nano) || string(lv.Values[0].Value) != string(latest.Value) {
		t.Fatalf("latest_values: %+v, library: %s at %v", lv, latest.Value, latest.StoredAt)
	}

	// query_history: the last two hours of vienna, one row a minute.
	start := vienna.Last.Add(-2 * time.Hour)
	var qh struct {
		Rows []struct {
			Name, At string
			Value    json.RawMessage
		}
		Total     int
		Truncated bool
		Note      string
	}
	if isErr, txt := mcpCall(t, cs, "query_history", map[string]any{"pattern": "temperature::vienna", "start": start.Format(time.RFC3339), "limit": 1000}, &qh); isErr {
		t.Fatal(txt)
	}
	if qh.Total != 121 || len(qh.Rows) != 121 || qh.Truncated || qh.Rows[0].At != start.Format(time.RFC3339Nano) || qh.Rows[120].At != vienna.Last.Format(time.RFC3339Nano) {
		t.Fatalf("query_history: total %d rows %d truncated %v", qh.Total, len(qh.Rows), qh.Truncated)
	}
	if isErr, _ := mcpCall(t, cs, "query_history", map[string]any{"pattern": "*"}, &qh); isErr || qh.Total != 6*2*24*60 || len(qh.Rows) != 100 || !qh.Truncated || !strings.Contains(qh.Note, "truncated") {
		t.Fatalf("query_history of everything: total %d rows %d truncated %v note %q", qh.Total, len(qh.Rows), qh.Truncated, qh.Note)
	}

	// aggregate: hourly buckets of vienna's last day, as Aggregate computes them.
	aggStart := vienna.Last.Add(-24 * time.Hour)
	series, err := db.Aggregate(t.Context(), "temperature::vienna", rechist.AggregateParams{Field: "celsius", Every: time.Hour, Start: aggStart})
	if err != nil {
		t.Fatal(err)
	}
	var agg struct {
		Series []struct {
			Name    string
			Buckets []struct {
				Start                string
				Count                int64
				Min, Mean, Max, Last float64
			}
		}
	}
	if isErr, txt := mcpCall(t, cs, "aggregate", map[string]any{"pattern": "temperature::vienna", "field": "celsius", "every": "1h", "start": aggStart.Format(time.RFC3339)}, &agg); isErr {
		t.Fatal(txt)
	}
	if len(agg.Series) != 1 || len(agg.Series[0].Buckets) != len(series[0].Buckets) || len(series[0].Buckets) < 24 {
		t.Fatalf("aggregate: %+v, library %d buckets", agg, len(series[0].Buckets))
	}
	total := int64(0)
	for i, b := range agg.Series[0].Buckets {
		w := series[0].Buckets[i]
		total += b.Count
		if b.Start != w.Start.Format(time.RFC3339Nano) || b.Count != w.Count || b.Min != w.Min || b.Mean != w.Mean || b.Max != w.Max || b.Last != w.Last {
			t.Errorf("bucket %d: %+v, library %+v", i, b, w)
		}
	}
	if total != 24*60+1 {
		t.Errorf("the buckets count %d rows, want %d (a day of minutes, both ends)", total, 24*60+1)
	}

	// stale_records: every city reported within the hour; none in the
	// last millisecond (the demo's rows end before the test runs).
	var st struct {
		Stale []struct{ Name, Last string }
		Total int `json:"stale_total"`
	}
	if isErr, txt := mcpCall(t, cs, "stale_records", map[string]any{"older_than": "1h", "pattern": "temperature::*"}, &st); isErr || st.Total != 0 {
		t.Fatalf("stale_records 1h: %s %+v", txt, st)
	}
	if isErr, txt := mcpCall(t, cs, "stale_records", map[string]any{"older_than": "1ms", "pattern": "temperature::*"}, &st); isErr || st.Total != 3 ||
		st.Stale[0].Last != vienna.Last.Format(time.RFC3339Nano) {
		t.Fatalf("stale_records 1ms: %s %+v", txt, st)
	}

	// A bad argument: a tool error that says what to change.
	if isErr, txt := mcpCall(t, cs, "query_history", map[string]any{"pattern": "*", "start": "last tuesday"}, nil); !isErr || !strings.Contains(txt, `bad time "last tuesday"`) {
		t.Fatalf("bad start: isError %v, %q", isErr, txt)
	}

	err, stderr := stop()
	if err != nil {
		t.Fatalf("rechist mcp exited with %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "(read-only)") {
		t.Errorf("stderr: %q", stderr)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if fileSum(t, path) != before {
		t.Error("rechist mcp changed the file")
	}
}

// --writable adds store_value; what it stores the CLI reads back.
func TestMCPWritableStores(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, "", "--db", "d.db", "demo", "--days", "1", "--cities", "1", "--interval", "1h")
	cs, stop := mcpSession(t, dir, "--writable", "--tz", "Europe/Vienna")
	var st struct {
		Stored bool
		At     string
	}
	if isErr, txt := mcpCall(t, cs, "store_value", map[string]any{"name": "notes::vienna", "value": map[string]any{"text": "sensor replaced"}, "at": "2026-11-30 09:15"}, &st); isErr || !st.Stored || st.At != "2026-11-30T09:15:00+01:00" {
		t.Fatalf("store_value: %s %+v", txt, st)
	}
	if err, stderr := stop(); err != nil {
		t.Fatalf("rechist mcp --writable exited with %v\n%s", err, stderr)
	}
	js := parseJSONLines(t, ok(t, dir, "", "--db", "d.db", "latest", "notes::*", "--json", "--utc"))
	if len(js) != 1 || js[0].At != "2026-11-30T08:15:00.000Z" || string(js[0].Value) != `{"text":"sensor replaced"}` {
		t.Fatalf("stored: %+v", js)
	}
}

// Reading never creates a file: a missing one is an error that names it.
func TestMCPMissingFile(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, dir, "", "--db", "none.db", "mcp")
	if r.code != 1 || !strings.Contains(r.stderr, "none.db") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); !os.IsNotExist(err) {
		t.Fatalf("rechist mcp created the file: %v", err)
	}
	if r := runCLI(t, dir, "", "--db", "none.db", "mcp", "--tz", "Mars/Olympus"); r.code != 2 {
		t.Fatalf("bad --tz: exit %d, stderr %q", r.code, r.stderr)
	}
	// A query timeout that bounds nothing is a usage error, as for serve.
	for _, d := range []string{"0s", "-1s"} {
		if r := runCLI(t, dir, "", "--db", "none.db", "mcp", "--query-timeout="+d); r.code != 2 || !strings.Contains(r.stderr, "--query-timeout") || !strings.Contains(r.stderr, "must be positive") {
			t.Fatalf("--query-timeout %s: exit %d, stderr %q", d, r.code, r.stderr)
		}
	}
}
