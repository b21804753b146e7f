package rechisthttp

// A replay of what Grafana's built-in Prometheus data source (Grafana 10,
// 11 and 12) sends to a Prometheus server, against the real handler over
// a real SQLite file, through a real HTTP server, with the token Grafana
// sends from the data source's "custom HTTP headers". Each answer is read
// as Grafana reads it.
//
// The requests follow Grafana's source (github.com/grafana/grafana):
//
//   - pkg/promlib/healthcheck.go (commit 03930ff804ae580cdd57b12648cb455284bb92cd):
//     "Save & test" runs the instant query `1+1` (refID __healthcheck__)
//     over the range [Unix 1s, Unix 4s]; any status but 200 fails it.
//   - pkg/promlib/heuristics.go (commit 0c2c8040437de1f738b39c0e4e6c63fbdac82bb1):
//     after the health check, GET or POST "api/v1/status/buildinfo"; no
//     data.features means "Prometheus" (not Mimir).
//   - pkg/promlib/client/client.go (commit 24d6880ae3f47e34db0cbb30cb5fe3c74c3d4d83):
//     QueryRange sends query, start, end (Unix seconds, formatTime) and
//     step (seconds, FormatFloat 'f' -1) and timeout when the data source
//     has a query timeout; QueryInstant sends query and time; with the
//     default method POST (httpMethod "" => POST in querydata/request.go,
//     commit 0084c0a57cf17a39a34c75a940721c6c09e875a3, and
//     resource/resource.go, commit 082f560d9cb53be7477ebe5445e7bd2900bfd2f3)
//     as an application/x-www-form-urlencoded body. QueryResource (the
//     browser's metadata calls, proxied) POSTs the browser's form body,
//     but uses GET with the body moved to the URL for the paths in
//     endpointsSupportOnlyGet ("api/v1/label/", "api/v1/metadata",
//     "/api/v1/status/buildinfo", ...), and retries a POST answered 400 or
//     405 as a GET.
//   - packages/grafana-prometheus/src/datasource.ts (commit 012d362d19341918c7424fab9d216fb0a40d99f2):
//     metadataRequest uses the configured method only for
//     GET_AND_POST_METADATA_ENDPOINTS (query, query_range, series, labels;
//     query_exemplars contains "api/v1/query"), GET otherwise;
//     areExemplarsAvailable asks query_exemplars with query=test and start
//     and end in milliseconds; loadRules asks /api/v1/rules and ignores an
//     error; getTimeRangeParams gives Unix seconds.
//   - packages/grafana-prometheus/src/resource_clients.ts (commit 039aaf2ce0e4a4573d96f13478a84e83d3e00eb7)
//     and constants.ts (commit 29e9d0be03c18d8fdb91392fc0bb34e43e516edd):
//     the metric browser and query builder of Grafana 12: label values of
//     __name__ (limit=40000, start, end), /api/v1/labels (limit, start, end,
//     optional match[]), label values with match[], and /api/v1/series with
//     match[]={__name__!=""} (MATCH_ALL_LABELS) and limit=40000; the
//     answer is read as an array (Array.isArray) of strings or of label
//     objects.
//   - packages/grafana-prometheus/src/language_provider.ts (commit 00ebd26e4574897ae435c2b0ab61ba988f4247a7):
//     the same calls in Grafana 10 and 11 (fetchLabelValues,
//     fetchSeriesLabelsMatch, fetchSeriesLabels, loadMetricsMetadata:
//     GET /api/v1/metadata read as an object of metric => metadata).
//   - PromQueryBuilder.tsx (onGetLabelNames/onGetLabelValues): with a
//     metric chosen, the builder asks labels and label values with
//     match[]={__name__="METRIC",...} (promQueryModeller.renderLabels).
//   - pkg/promlib/resource/resource.go GetSuggestions (Grafana 12): a POST
//     of /api/v1/labels with its parameters in the URL and no body.
//   - utf8_support.ts (commit 00ebd26e4574897ae435c2b0ab61ba988f4247a7):
//     a label name that is not a classic one is sent as U__... in the
//     label values path; rechist's label names (__name__, field, record)
//     are classic, so none is escaped.
//
// The token comes from the data source's custom HTTP header
// (jsonData.httpHeaderName1 "Authorization", secureJsonData.httpHeaderValue1
// "Bearer TOKEN"), which Grafana's HTTP client adds to every request to
// the data source. Grafana may add more headers, which the handler must
// ignore: X-Grafana-User (httpclientprovider's SetGrafanaUserMiddleware,
// with send_user_header), X-Grafana-Id (clientmiddleware's
// GrafanaIDMiddleware, "Forward Grafana ID"), X-Grafana-Org-Id,
// X-Dashboard-UID and X-Panel-Id (forwarded plugin request headers,
// clientmiddleware "forward-plugin-request-http-headers"), and its
// User-Agent "Grafana/VERSION". Grafana reaches rechist by whatever name
// its URL has (a container name here), which a token allows.

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const grafanaToken = "grafana-token-1"

// grafanaData stores two hours of one value a minute, ending at now (a
// whole minute): a record whose name is not a classic metric name with a
// number, a boolean and a string field, a classic name with a number
// field, and a bare number.
func grafanaData(t *testing.T) (*Handler, time.Time) {
	t.Helper()
	db := openDB(t)
	now := time.Now().Truncate(time.Minute)
	for i := range 120 {
		at := now.Add(-time.Duration(119-i) * time.Minute).UnixMilli()
		store(t, db, "sensors.temp.outdoor", at, fmt.Sprintf(`{"celsius":%d,"ok":true,"unit":"C"}`, 10+i))
		store(t, db, "temperature::vienna", at, fmt.Sprintf(`{"celsius":%d}`, i))
		store(t, db, "uptime", at, fmt.Sprint(i*60))
	}
	return NewHandler(db, WithToken(grafanaToken)), now
}

// grafanaEnvelope is the answer as pkg/promlib/converter/prom.go reads it.
type grafanaEnvelope struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Infos     []string        `json:"infos"`
}

// grafanaSeries is one series of a matrix or a vector, its samples as
// [Unix seconds (a JSON number), value (a JSON string)].
type grafanaSeries struct {
	Metric map[string]string    `json:"metric"`
	Values [][2]json.RawMessage `json:"values"`
	Value  [2]json.RawMessage   `json:"value"`
}

// grafanaSample reads one sample as the converter does: the time a
// number, the value a string holding a float.
func grafanaSample(t *testing.T, p [2]json.RawMessage) (float64, float64) {
	t.Helper()
	var ts float64
	var vs string
	if err := json.Unmarshal(p[0], &ts); err != nil {
		t.Fatalf("sample time %s is not a number: %v", p[0], err)
	}
	if err := json.Unmarshal(p[1], &vs); err != nil {
		t.Fatalf("sample value %s is not a string: %v", p[1], err)
	}
	v, err := strconv.ParseFloat(vs, 64)
	if err != nil {
		t.Fatalf("sample value %q is not a float: %v", vs, err)
	}
	return ts, v
}

// grafanaResult decodes data of query or query_range, of resultType want.
func grafanaResult(t *testing.T, data json.RawMessage, want string) json.RawMessage {
	t.Helper()
	var d struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &d); err != nil || d.ResultType != want {
		t.Fatalf("data %s: want resultType %q (%v)", data, want, err)
	}
	return d.Result
}

// grafanaMatrix decodes a matrix and checks each series' samples: one a
// step from start to end, times ascending.
func grafanaMatrix(t *testing.T, data json.RawMessage, start, end time.Time, step time.Duration) []grafanaSeries {
	t.Helper()
	var ss []grafanaSeries
	if err := json.Unmarshal(grafanaResult(t, data, "matrix"), &ss); err != nil {
		t.Fatalf("matrix %s: %v", data, err)
	}
	if len(ss) == 0 {
		t.Fatalf("matrix %s: no series", data)
	}
	for _, s := range ss {
		if want := int(end.Sub(start)/step) + 1; len(s.Values) != want {
			t.Fatalf("series %v: %d samples, want %d", s.Metric, len(s.Values), want)
		}
		for i, p := range s.Values {
			if ts, _ := grafanaSample(t, p); ts != float64(start.Add(time.Duration(i)*step).Unix()) {
				t.Fatalf("series %v: sample %d at %v, want %v", s.Metric, i, ts, start.Add(time.Duration(i)*step).Unix())
			}
		}
	}
	return ss
}

// grafanaStrings decodes data as the array of strings
// resource_clients.ts's requestLabels takes (Array.isArray).
func grafanaStrings(t *testing.T, data json.RawMessage) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal(data, &out); err != nil || out == nil {
		t.Fatalf("data %s is not an array of strings (%v)", data, err)
	}
	return out
}

// wantStrings checks data is exactly want.
func wantStrings(want ...string) func(*testing.T, json.RawMessage) {
	return func(t *testing.T, data json.RawMessage) {
		t.Helper()
		if got := grafanaStrings(t, data); !slices.Equal(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

// near says whether a and b agree to 1e-9.
func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestGrafanaReplay(t *testing.T) {
	t.Parallel()
	h, now := grafanaData(t)
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := srv.Client()
	client.Timeout = 30 * time.Second

	sec := func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
	from, to := now.Add(-time.Hour), now // the dashboard's time range, "Last 1 hour"
	start, end, step := now.Add(-10*time.Minute), now, time.Minute
	rangeForm := func(query string) url.Values {
		// client.go QueryRange; timeout as the data source's "Query timeout" 60s.
		return url.Values{"query": {query}, "start": {sec(start)}, "end": {sec(end)}, "step": {"60"}, "timeout": {"60s"}}
	}
	sensor := `{record="sensors.temp.outdoor", field="celsius"}`
	// sensors.temp.outdoor's celsius at minute m before now is 129-m.
	sensorAt := func(ts float64) float64 { return 129 - (float64(now.Unix())-ts)/60 }

	type replay struct {
		name    string
		method  string
		path    string
		form    url.Values
		inURL   bool   // a POST with its parameters in the URL, no body (GetSuggestions)
		token   string // "" sends none
		code    int
		check   func(*testing.T, json.RawMessage)
		errType string // a JSON error Grafana shows (or, for rules, ignores)
		skip    string // a known difference from Prometheus, reported to the owner
	}
	cases := []replay{
		// "Save & test": healthcheck.go's instant query 1+1 at Unix 4s.
		{name: "health check 1+1", method: "POST", path: "/api/v1/query",
			form: url.Values{"query": {"1+1"}, "time": {"4"}}, token: grafanaToken, code: 200,
			check: func(t *testing.T, data json.RawMessage) {
				var s [2]json.RawMessage
				if err := json.Unmarshal(grafanaResult(t, data, "scalar"), &s); err != nil {
					t.Fatal(err)
				}
				if ts, v := grafanaSample(t, s); ts != 4 || v != 2 {
					t.Errorf("1+1 at 4: %v at %v", v, ts)
				}
			}},
		// Save & test without the custom header: Grafana reports the status
		// ("401 Unauthorized - There was an error returned querying the
		// Prometheus API.").
		{name: "health check without token", method: "POST", path: "/api/v1/query",
			form: url.Values{"query": {"1+1"}, "time": {"4"}}, code: 401},
		// heuristics.go: Path "api/v1/status/buildinfo" is not in
		// endpointsSupportOnlyGet (whose entry has a leading slash): POST.
		{name: "heuristics buildinfo (POST)", method: "POST", path: "/api/v1/status/buildinfo",
			token: grafanaToken, code: 200, check: checkBuildInfo},
		// resource.go DetectVersion and the config page's version detection: GET.
		{name: "detect version buildinfo (GET)", method: "GET", path: "/api/v1/status/buildinfo",
			token: grafanaToken, code: 200, check: checkBuildInfo},

		// The data source's init (datasource.ts).
		{name: "exemplars available", method: "POST", path: "/api/v1/query_exemplars",
			form:  url.Values{"query": {"test"}, "start": {strconv.FormatInt(now.Add(-30*time.Minute).UnixMilli(), 10)}, "end": {strconv.FormatInt(now.UnixMilli(), 10)}},
			token: grafanaToken, code: 200, check: func(t *testing.T, data json.RawMessage) {
				if string(data) != "[]" {
					t.Errorf("exemplars: %s", data)
				}
			}},
		// loadRules: rechist has no rules, an empty list (Grafana would
		// catch an error too: "Rules API is experimental. Ignore next
		// error.").
		{name: "rules", method: "GET", path: "/api/v1/rules",
			token: grafanaToken, code: 200, check: func(t *testing.T, data json.RawMessage) {
				if string(data) != `{"groups":[]}` {
					t.Errorf("rules: %s", data)
				}
			}},

		// Metric browser and query builder (resource_clients.ts, language_provider.ts).
		{name: "metric names", method: "GET", path: "/api/v1/label/__name__/values",
			form:  url.Values{"limit": {"40000"}, "start": {sec(from)}, "end": {sec(to)}},
			token: grafanaToken, code: 200, check: wantStrings("sensors.temp.outdoor", "temperature::vienna", "uptime")},
		{name: "label names", method: "POST", path: "/api/v1/labels",
			form:  url.Values{"limit": {"40000"}, "start": {sec(from)}, "end": {sec(to)}},
			token: grafanaToken, code: 200, check: wantStrings("__name__", "field", "record")},
		// The builder with metric sensors.temp.outdoor chosen, asking which labels to offer.
		{name: "label names of a metric", method: "POST", path: "/api/v1/labels",
			form:  url.Values{"limit": {"40000"}, "start": {sec(from)}, "end": {sec(to)}, "match[]": {`{__name__="sensors.temp.outdoor"}`}},
			token: grafanaToken, code: 200, check: wantStrings("__name__", "field", "record")},
		// Grafana 10/11 fetchLabels: match[] is the query's bare metric name.
		{name: "label names of a classic name", method: "POST", path: "/api/v1/labels",
			form:  url.Values{"start": {sec(from)}, "end": {sec(to)}, "match[]": {`temperature::vienna`}},
			token: grafanaToken, code: 200, check: wantStrings("__name__", "field", "record")},
		// The builder with the bare number uptime chosen: Prometheus answers
		// the label names of the matching series only, so the builder
		// would not offer field, which uptime lacks.
		{name: "label names of a record without fields", method: "POST", path: "/api/v1/labels",
			form:  url.Values{"limit": {"40000"}, "start": {sec(from)}, "end": {sec(to)}, "match[]": {`{__name__="uptime"}`}},
			token: grafanaToken, code: 200, check: wantStrings("__name__", "record")},
		// Grafana 12's suggestions: POST, parameters in the URL.
		{name: "label names (suggestions, POST with URL parameters)", method: "POST", path: "/api/v1/labels", inURL: true,
			form:  url.Values{"limit": {"1000"}, "start": {sec(from)}, "end": {sec(to)}, "match[]": {`{__name__="sensors.temp.outdoor"}`}},
			token: grafanaToken, code: 200, check: wantStrings("__name__", "field", "record")},
		{name: "record values", method: "GET", path: "/api/v1/label/record/values",
			form:  url.Values{"limit": {"40000"}, "start": {sec(from)}, "end": {sec(to)}},
			token: grafanaToken, code: 200, check: wantStrings("sensors.temp.outdoor", "temperature::vienna", "uptime")},
		// The builder's label value picker: field of the chosen metric;
		// the boolean and the string are no series.
		{name: "field values of a metric", method: "GET", path: "/api/v1/label/field/values",
			form:  url.Values{"limit": {"40000"}, "start": {sec(from)}, "end": {sec(to)}, "match[]": {`{__name__="sensors.temp.outdoor"}`}},
			token: grafanaToken, code: 200, check: wantStrings("celsius")},
		{name: "field values of a record label", method: "GET", path: "/api/v1/label/field/values",
			form:  url.Values{"limit": {"40000"}, "start": {sec(from)}, "end": {sec(to)}, "match[]": {`{record="sensors.temp.outdoor"}`}},
			token: grafanaToken, code: 200, check: wantStrings("celsius")},
		// The metric browser's series listing (SeriesApiClient, MATCH_ALL_LABELS).
		{name: "all series", method: "POST", path: "/api/v1/series",
			form:  url.Values{"match[]": {`{__name__!=""}`}, "limit": {"40000"}, "start": {sec(from)}, "end": {sec(to)}},
			token: grafanaToken, code: 200, check: func(t *testing.T, data json.RawMessage) {
				var ss []map[string]string
				if err := json.Unmarshal(data, &ss); err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, s := range ss {
					got = append(got, s["__name__"]+"/"+s["field"])
				}
				if want := []string{"sensors.temp.outdoor/celsius", "temperature::vienna/celsius", "uptime/"}; !slices.Equal(got, want) {
					t.Errorf("series %s", data)
				}
			}},
		{name: "series of a selector", method: "POST", path: "/api/v1/series",
			form:  url.Values{"match[]": {sensor}, "start": {sec(from)}, "end": {sec(to)}},
			token: grafanaToken, code: 200, check: func(t *testing.T, data json.RawMessage) {
				if want := `[{"__name__":"sensors.temp.outdoor","field":"celsius","record":"sensors.temp.outdoor"}]`; string(data) != want {
					t.Errorf("series %s, want %s", data, want)
				}
			}},
		// loadMetricsMetadata: an object (of metric => metadata), here empty.
		{name: "metadata", method: "GET", path: "/api/v1/metadata",
			token: grafanaToken, code: 200, check: func(t *testing.T, data json.RawMessage) {
				var m map[string]any
				if err := json.Unmarshal(data, &m); err != nil || m == nil {
					t.Errorf("metadata %s is not an object", data)
				}
			}},

		// A time-series panel: range queries the builder writes.
		{name: "panel: selector", method: "POST", path: "/api/v1/query_range", form: rangeForm(sensor),
			token: grafanaToken, code: 200, check: func(t *testing.T, data json.RawMessage) {
				ss := grafanaMatrix(t, data, start, end, step)
				if len(ss) != 1 || ss[0].Metric["__name__"] != "sensors.temp.outdoor" || ss[0].Metric["record"] != "sensors.temp.outdoor" || ss[0].Metric["field"] != "celsius" {
					t.Fatalf("series %s", data)
				}
				for _, p := range ss[0].Values {
					if ts, v := grafanaSample(t, p); v != sensorAt(ts) {
						t.Errorf("at %v: %v, want %v", ts, v, sensorAt(ts))
					}
				}
			}},
		{name: "panel: rate", method: "POST", path: "/api/v1/query_range", form: rangeForm(`rate(` + sensor + `[5m])`),
			token: grafanaToken, code: 200, check: func(t *testing.T, data json.RawMessage) {
				ss := grafanaMatrix(t, data, start, end, step)
				if len(ss) != 1 || ss[0].Metric["__name__"] != "" || ss[0].Metric["field"] != "celsius" {
					t.Fatalf("series %s", data)
				}
				for _, p := range ss[0].Values {
					if _, v := grafanaSample(t, p); !near(v, 1.0/60) { // one degree a minute
						t.Errorf("rate %v, want 1/60", v)
					}
				}
			}},
		{name: "panel: sum by (field)", method: "POST", path: "/api/v1/query_range",
			form:  rangeForm(`sum by (field) ({record=~"sensors\\.temp\\.outdoor|temperature::vienna", field="celsius"})`),
			token: grafanaToken, code: 200, check: func(t *testing.T, data json.RawMessage) {
				ss := grafanaMatrix(t, data, start, end, step)
				if len(ss) != 1 || len(ss[0].Metric) != 1 || ss[0].Metric["field"] != "celsius" {
					t.Fatalf("series %s", data)
				}
				for _, p := range ss[0].Values {
					if ts, v := grafanaSample(t, p); v != 2*sensorAt(ts)-10 {
						t.Errorf("at %v: %v, want %v", ts, v, 2*sensorAt(ts)-10)
					}
				}
			}},
		{name: "panel: avg_over_time", method: "POST", path: "/api/v1/query_range", form: rangeForm(`avg_over_time(` + sensor + `[10m])`),
			token: grafanaToken, code: 200, check: func(t *testing.T, data json.RawMessage) {
				ss := grafanaMatrix(t, data, start, end, step)
				if len(ss) != 1 {
					t.Fatalf("series %s", data)
				}
				for _, p := range ss[0].Values {
					if ts, v := grafanaSample(t, p); !near(v, sensorAt(ts)-4.5) { // the ten samples in (t-10m, t]
						t.Errorf("at %v: %v, want %v", ts, v, sensorAt(ts)-4.5)
					}
				}
			}},
		// A data source set to GET sends the same parameters in the URL.
		{name: "panel: selector by GET", method: "GET", path: "/api/v1/query_range", form: rangeForm(`uptime`),
			token: grafanaToken, code: 200, check: func(t *testing.T, data json.RawMessage) {
				ss := grafanaMatrix(t, data, start, end, step)
				if len(ss) != 1 || ss[0].Metric["__name__"] != "uptime" || ss[0].Metric["field"] != "" {
					t.Fatalf("series %s", data)
				}
			}},
		// Exemplars toggled on in the panel's options.
		{name: "panel: exemplars", method: "POST", path: "/api/v1/query_exemplars",
			form:  url.Values{"query": {sensor}, "start": {sec(start)}, "end": {sec(end)}},
			token: grafanaToken, code: 200, check: func(t *testing.T, data json.RawMessage) {
				if string(data) != "[]" {
					t.Errorf("exemplars: %s", data)
				}
			}},
		// A table ("Instant" query type): QueryInstant at the range's end.
		{name: "table: instant", method: "POST", path: "/api/v1/query",
			form:  url.Values{"query": {`{__name__=~"sensors\\.temp\\.outdoor|temperature::vienna"}`}, "time": {sec(end)}, "timeout": {"60s"}},
			token: grafanaToken, code: 200, check: func(t *testing.T, data json.RawMessage) {
				var ss []grafanaSeries
				if err := json.Unmarshal(grafanaResult(t, data, "vector"), &ss); err != nil || len(ss) != 2 {
					t.Fatalf("vector %s (%v)", data, err)
				}
				for _, s := range ss {
					ts, v := grafanaSample(t, s.Value)
					want := map[string]float64{"sensors.temp.outdoor": 129, "temperature::vienna": 119}[s.Metric["record"]]
					if ts != float64(end.Unix()) || v != want || s.Metric["field"] != "celsius" {
						t.Errorf("%v: %v at %v, want %v", s.Metric, v, ts, want)
					}
				}
			}},
		// A query the user mistyped: Grafana shows the error.
		{name: "panel: parse error", method: "POST", path: "/api/v1/query_range", form: rangeForm(`rate(` + sensor + `)`),
			token: grafanaToken, code: 400, errType: "bad_data"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			target := srv.URL + tc.path
			var req *http.Request
			var err error
			switch {
			case tc.method == "GET":
				if len(tc.form) > 0 {
					target += "?" + tc.form.Encode()
				}
				req, err = http.NewRequestWithContext(t.Context(), "GET", target, http.NoBody)
			case tc.inURL:
				req, err = http.NewRequestWithContext(t.Context(), "POST", target+"?"+tc.form.Encode(), http.NoBody)
			default:
				req, err = http.NewRequestWithContext(t.Context(), "POST", target, strings.NewReader(tc.form.Encode()))
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.method == "POST" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			// Grafana in another container reaches rechist by name.
			req.Host = "rechist:8080"
			req.Header.Set("User-Agent", "Grafana/12.0.0")
			req.Header.Set("X-Grafana-Org-Id", "1")
			req.Header.Set("X-Dashboard-UID", "abc123")
			req.Header.Set("X-Panel-Id", "2")
			req.Header.Set("X-Grafana-User", "admin")
			req.Header.Set("X-Grafana-Id", "eyJhbGciOiJFUzI1NiJ9.e30.sig")
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var env grafanaEnvelope
			if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
				t.Fatalf("%s %s: %d, not JSON: %v", tc.method, tc.path, resp.StatusCode, err)
			}
			if resp.StatusCode != tc.code {
				t.Fatalf("%s %s %v: status %d, want %d: %+v", tc.method, tc.path, tc.form, resp.StatusCode, tc.code, env)
			}
			switch {
			case tc.code == 200:
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				if env.Status != "success" || len(env.Warnings) > 0 {
					t.Fatalf("%+v", env)
				}
				tc.check(t, env.Data)
			case tc.code == 401:
				if resp.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("401 without WWW-Authenticate")
				}
			case tc.errType != "":
				if env.Status != "error" || env.ErrorType != tc.errType || env.Error == "" {
					t.Errorf("%+v, want errorType %s", env, tc.errType)
				}
			}
		})
	}
}

// checkBuildInfo reads buildinfo as heuristics.go's BuildInfoResponse and
// the data source's version detection do: a semantic version at least
// 2.24.0 (datasource.ts hasLabelsMatchAPISupport) and no features (so
// the application is "Prometheus", not Mimir).
func checkBuildInfo(t *testing.T, data json.RawMessage) {
	t.Helper()
	var bi struct {
		Version   string            `json:"version"`
		Revision  string            `json:"revision"`
		Branch    string            `json:"branch"`
		Features  map[string]string `json:"features"`
		BuildUser string            `json:"buildUser"`
		BuildDate string            `json:"buildDate"`
		GoVersion string            `json:"goVersion"`
	}
	if err := json.Unmarshal(data, &bi); err != nil {
		t.Fatal(err)
	}
	var major, minor, patch int
	if n, _ := fmt.Sscanf(bi.Version, "%d.%d.%d", &major, &minor, &patch); n != 3 || major < 2 || (major == 2 && minor < 24) {
		t.Errorf("version %q: want a semantic version >= 2.24.0", bi.Version)
	}
	if len(bi.Features) != 0 || bi.GoVersion == "" {
		t.Errorf("buildinfo %s", data)
	}
}

// The metric browser lists the names with samples in the dashboard's time
// range (language_provider.ts fetchLabelValues and resource_clients.ts
// queryLabelValues send start and end), as Prometheus does: a record whose
// rows all lie before the range is not offered.
func TestGrafanaMetricNamesInTimeRange(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	now := time.Now().Truncate(time.Minute)
	store(t, db, "recent", now.UnixMilli(), `{"v":1}`)
	store(t, db, "old", now.Add(-3*time.Hour).UnixMilli(), `{"v":1}`)
	h := NewHandler(db, WithToken(grafanaToken))
	form := url.Values{"limit": {"40000"}, "start": {strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)}, "end": {strconv.FormatInt(now.Unix(), 10)}}
	for _, label := range []string{"__name__", "record"} {
		a := do(t, h, "GET", "/api/v1/label/"+label+"/values?"+form.Encode(), nil, "Authorization", "Bearer "+grafanaToken)
		var env grafanaEnvelope
		if err := json.Unmarshal(a.body, &env); err != nil || a.code != 200 {
			t.Fatalf("%s: %d %s", label, a.code, a.body)
		}
		wantStrings("recent")(t, env.Data)
	}
}
