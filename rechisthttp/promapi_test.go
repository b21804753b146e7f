package rechisthttp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// promAnswer is the Prometheus API's envelope.
type promAnswer struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

// promData holds a few records: a classic metric name with two fields, a
// name with dots (not a classic metric name), a bare number, and a
// string value (no series); values a minute apart up to now.
func promData(t *testing.T) (*Handler, time.Time) {
	t.Helper()
	db := openDB(t)
	now := time.Now().Truncate(time.Minute)
	for i := range 60 {
		at := now.Add(-time.Duration(59-i) * time.Minute).UnixMilli()
		store(t, db, "temperature::vienna", at, fmt.Sprintf(`{"celsius":%d,"humidity":%d,"city":"vienna"}`, i, 100-i))
		store(t, db, "sensors.temp.outdoor", at, fmt.Sprintf(`{"celsius":%d.5}`, i))
		store(t, db, "counter", at, fmt.Sprint(i*10))
		store(t, db, "note", at, `"text"`)
	}
	return NewHandler(db), now
}

// promGet asks target of h and decodes the envelope.
func promGet(t *testing.T, h http.Handler, method, target string, form url.Values) (int, promAnswer) {
	t.Helper()
	var a answer
	if method == "POST" {
		a = do(t, h, "POST", target, strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
	} else {
		a = do(t, h, "GET", target+"?"+form.Encode(), nil)
	}
	var p promAnswer
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatalf("%s %s: not the API's JSON: %s", method, target, a.body)
	}
	return a.code, p
}

// The PromQL engine answers over the history: records by name (classic,
// quoted UTF-8, the record label, a regex), each numeric field a series,
// functions and aggregations, instant and range queries by GET and POST;
// strings are no series; errors are Prometheus's.
func TestPromQLOverTheHistory(t *testing.T) {
	t.Parallel()
	h, now := promData(t)
	at := fmt.Sprint(now.Unix())
	for _, tc := range []struct{ query, want string }{
		{`temperature::vienna`, `[{"metric":{"__name__":"temperature::vienna","field":"celsius","record":"temperature::vienna"},"value":[T,"59"]},{"metric":{"__name__":"temperature::vienna","field":"humidity","record":"temperature::vienna"},"value":[T,"41"]}]`},
		{`{"sensors.temp.outdoor"}`, `[{"metric":{"__name__":"sensors.temp.outdoor","field":"celsius","record":"sensors.temp.outdoor"},"value":[T,"59.5"]}]`},
		{`{record="sensors.temp.outdoor", field="celsius"}`, `[{"metric":{"__name__":"sensors.temp.outdoor","field":"celsius","record":"sensors.temp.outdoor"},"value":[T,"59.5"]}]`},
		{`sum by (field) ({record=~"temp.*|sensors\\..*", field="celsius"})`, `[{"metric":{"field":"celsius"},"value":[T,"118.5"]}]`},
		{`avg_over_time(counter[10m])`, `[{"metric":{"record":"counter"},"value":[T,"545"]}]`},
		{`rate(counter[10m])`, `[{"metric":{"record":"counter"},"value":[T,"0.16666666666666669"]}]`},
		{`{record="note"}`, `[]`},
		{`count({record=~".+"})`, `[{"metric":{},"value":[T,"4"]}]`},
	} {
		for _, method := range []string{"GET", "POST"} {
			code, p := promGet(t, h, method, "/api/v1/query", url.Values{"query": {tc.query}, "time": {at}})
			var data struct {
				ResultType string          `json:"resultType"`
				Result     json.RawMessage `json:"result"`
			}
			json.Unmarshal(p.Data, &data)
			want := strings.ReplaceAll(tc.want, "T", at)
			if code != 200 || p.Status != "success" || data.ResultType != "vector" || string(data.Result) != want {
				t.Errorf("%s %s: %d %+v %s\nwant %s", method, tc.query, code, p, data.Result, want)
			}
		}
	}
	// A range query: a point a step, values as Prometheus prints them.
	code, p := promGet(t, h, "GET", "/api/v1/query_range", url.Values{"query": {`counter`}, "start": {fmt.Sprint(now.Add(-2 * time.Minute).Unix())},
		"end": {at}, "step": {"60"}})
	if want := fmt.Sprintf(`{"resultType":"matrix","result":[{"metric":{"__name__":"counter","record":"counter"},"values":[[%d,"570"],[%d,"580"],[%d,"590"]]}]}`,
		now.Add(-2*time.Minute).Unix(), now.Add(-time.Minute).Unix(), now.Unix()); code != 200 || string(p.Data) != want {
		t.Errorf("query_range: %d %+v %s\nwant %s", code, p, p.Data, want)
	}
	for _, tc := range []struct {
		path       string
		form       url.Values
		code       int
		errorType  string
		errorMatch string
	}{
		{"/api/v1/query", url.Values{"query": {"sum("}}, 400, "bad_data", "parse error"},
		{"/api/v1/query", url.Values{"query": {"counter"}, "time": {"yesterday"}}, 400, "bad_data", `invalid parameter "time"`},
		{"/api/v1/query_range", url.Values{"query": {"counter"}, "start": {"0"}, "end": {"100000"}, "step": {"1"}}, 400, "bad_data", "11,000 points"},
		{"/api/v1/query_range", url.Values{"query": {"counter"}, "start": {"10"}, "end": {"0"}, "step": {"1"}}, 400, "bad_data", "end timestamp must not be before start"},
		{"/api/v1/query", url.Values{"query": {`label_replace(counter, "x", "$1", "record", "(")`}}, 422, "execution", "invalid regular expression"},
		{"/api/v1/series", url.Values{}, 400, "bad_data", "no match[] parameter provided"},
	} {
		if code, p := promGet(t, h, "GET", tc.path, tc.form); code != tc.code || p.Status != "error" || p.ErrorType != tc.errorType || !strings.Contains(p.Error, tc.errorMatch) {
			t.Errorf("%s %v: %d %+v; want %d %s %q", tc.path, tc.form, code, p, tc.code, tc.errorType, tc.errorMatch)
		}
	}
}

// The metadata endpoints Grafana calls: label names, label values (record
// names, fields), series of a selector, metadata, build information.
func TestPromMetadataEndpoints(t *testing.T) {
	t.Parallel()
	h, _ := promData(t)
	for _, tc := range []struct {
		path string
		form url.Values
		want string
	}{
		{"/api/v1/labels", nil, `["__name__","field","record"]`},
		{"/api/v1/label/__name__/values", nil, `["counter","note","sensors.temp.outdoor","temperature::vienna"]`},
		{"/api/v1/label/record/values", url.Values{"match[]": {`{record=~"temp.*"}`}}, `["temperature::vienna"]`},
		{"/api/v1/label/field/values", nil, `["celsius","humidity"]`},
		{"/api/v1/label/field/values", url.Values{"match[]": {`{"sensors.temp.outdoor"}`}}, `["celsius"]`},
		{"/api/v1/series", url.Values{"match[]": {`{record="temperature::vienna"}`, `counter`}},
			`[{"__name__":"counter","record":"counter"},{"__name__":"temperature::vienna","field":"celsius","record":"temperature::vienna"},{"__name__":"temperature::vienna","field":"humidity","record":"temperature::vienna"}]`},
		{"/api/v1/metadata", nil, `{}`},
		{"/api/v1/query_exemplars", url.Values{"query": {"counter"}}, `[]`},
	} {
		if code, p := promGet(t, h, "GET", tc.path, tc.form); code != 200 || p.Status != "success" || string(p.Data) != tc.want {
			t.Errorf("%s %v: %d %+v %s\nwant %s", tc.path, tc.form, code, p, p.Data, tc.want)
		}
	}
	if code, p := promGet(t, h, "GET", "/api/v1/status/buildinfo", nil); code != 200 || !strings.Contains(string(p.Data), `"version":"`) {
		t.Errorf("buildinfo: %d %+v", code, p)
	}
}

// promtool, Prometheus's own command-line client, reads the API: an
// instant query, a range query, label values and series. CI installs it
// (Debian's prometheus package); without it the test skips.
func TestPromtoolReadsTheAPI(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv(browserRequired) == "1" {
			t.Fatal("promtool not found (apt-get install prometheus); CI requires it")
		}
		t.Skip("promtool not found (apt-get install prometheus)")
	}
	h, now := promData(t)
	srv := httptest.NewServer(h)
	defer srv.Close()
	u := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(t.Context(), promtool, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("promtool %q: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := run("query", "instant", "--time", now.Format(time.RFC3339), u, `max_over_time({record="sensors.temp.outdoor"}[1h])`); !strings.Contains(out, `=> 59.5 @[`) {
		t.Errorf("promtool query instant: %s", out)
	}
	if out := run("query", "range", "--start", now.Add(-2*time.Minute).Format(time.RFC3339), "--end", now.Format(time.RFC3339), "--step", "1m", u, `counter`); strings.Count(out, " @[") != 3 || !strings.Contains(out, "590 @[") {
		t.Errorf("promtool query range: %s", out)
	}
	if out := run("query", "labels", u, "field"); out != "celsius\nhumidity\n" {
		t.Errorf("promtool query labels field: %q", out)
	}
	if out := run("query", "series", "--match", `{record="temperature::vienna", field="humidity"}`, u); !strings.Contains(out, `field="humidity"`) {
		t.Errorf("promtool query series: %s", out)
	}
}
