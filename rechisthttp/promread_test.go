package rechisthttp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// postRead posts req, snappy-compressed, to h's /api/v1/read.
func postRead(t *testing.T, h http.Handler, req *prompb.ReadRequest, hdr ...string) answer {
	t.Helper()
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	hdr = append([]string{"Content-Type", "application/x-protobuf", "Content-Encoding", "snappy", "X-Prometheus-Remote-Read-Version", "0.1.0"}, hdr...)
	return do(t, h, "POST", "/api/v1/read", bytes.NewReader(snappy.Encode(nil, b)), hdr...)
}

// readQuery is a query of [start, end] with equality (=) or regular
// expression (~) matchers, "name=value" or "name~regex".
func readQuery(start, end time.Time, matchers ...string) *prompb.Query {
	q := &prompb.Query{StartTimestampMs: start.UnixMilli(), EndTimestampMs: end.UnixMilli()}
	for _, m := range matchers {
		typ, sep := prompb.LabelMatcher_EQ, "="
		if strings.Contains(m, "~") {
			typ, sep = prompb.LabelMatcher_RE, "~"
		}
		name, value, _ := strings.Cut(m, sep)
		q.Matchers = append(q.Matchers, &prompb.LabelMatcher{Type: typ, Name: name, Value: value})
	}
	return q
}

// seriesString prints a series: its labels, then each sample as
// minutes-before-now:value.
func seriesString(lbls []prompb.Label, ts []int64, vs []float64, now time.Time) string {
	var b strings.Builder
	for _, l := range lbls {
		fmt.Fprintf(&b, "%s=%s,", l.Name, l.Value)
	}
	for i := range ts {
		fmt.Fprintf(&b, " %d:%g", now.Sub(time.UnixMilli(ts[i]))/time.Minute, vs[i])
	}
	return b.String()
}

// wantSeries prints what promData stored as record's series at field,
// minutes before now from `from` down to `to`; value(i) is the value of
// the i-th row (i = 59 - minutes).
func wantSeries(record, field string, from, to int, value func(i int) float64) string {
	s := "__name__=" + record + ","
	if field != "" {
		s += "field=" + field + ","
	}
	s += "record=" + record + ","
	for m := from; m >= to; m-- {
		s += fmt.Sprintf(" %d:%g", m, value(59-m))
	}
	return s
}

// Remote read answers the rows promData stores, as samples and as
// streamed XOR chunks alike; bad requests are 400, the token is required
// as on /api/v1/query.
func TestRemoteRead(t *testing.T) {
	t.Parallel()
	h, now := promData(t)
	queries := []*prompb.Query{
		readQuery(now.Add(-10*time.Minute), now, "record=sensors.temp.outdoor"),
		readQuery(now.Add(-time.Minute), now, "__name__~temperature::.*"),
		readQuery(now.Add(-5*time.Minute), now.Add(-3*time.Minute), "__name__=counter"),
		readQuery(now.Add(-time.Hour), now, "record=note"),
	}
	want := [][]string{
		{wantSeries("sensors.temp.outdoor", "celsius", 10, 0, func(i int) float64 { return float64(i) + 0.5 })},
		{wantSeries("temperature::vienna", "celsius", 1, 0, func(i int) float64 { return float64(i) }),
			wantSeries("temperature::vienna", "humidity", 1, 0, func(i int) float64 { return float64(100 - i) })},
		{wantSeries("counter", "", 5, 3, func(i int) float64 { return float64(10 * i) })},
		nil,
	}

	// SAMPLES, what a request that names no type gets.
	a := postRead(t, h, &prompb.ReadRequest{Queries: queries})
	if a.code != 200 || a.hdr.Get("Content-Type") != "application/x-protobuf" || a.hdr.Get("Content-Encoding") != "snappy" {
		t.Fatalf("samples: %d %v %s", a.code, a.hdr, a.body)
	}
	raw, err := snappy.Decode(nil, a.body)
	if err != nil {
		t.Fatal(err)
	}
	var resp prompb.ReadResponse
	if err := resp.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	got := make([][]string, len(resp.Results))
	for i, res := range resp.Results {
		for _, ts := range res.Timeseries {
			var tt []int64
			var vs []float64
			for _, s := range ts.Samples {
				tt, vs = append(tt, s.Timestamp), append(vs, s.Value)
			}
			got[i] = append(got[i], seriesString(ts.Labels, tt, vs, now))
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("samples:\n got %q\nwant %q", got, want)
	}

	// Prometheus 3 asks for STREAMED_XOR_CHUNKS first and takes SAMPLES:
	// the same answer.
	a = postRead(t, h, &prompb.ReadRequest{Queries: queries,
		AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS, prompb.ReadRequest_SAMPLES}})
	if a.code != 200 || a.hdr.Get("Content-Type") != "application/x-protobuf" {
		t.Fatalf("streamed or samples: %d %v %s", a.code, a.hdr, a.body)
	}
	raw, err = snappy.Decode(nil, a.body)
	var again prompb.ReadResponse
	if err == nil {
		err = again.Unmarshal(raw)
	}
	if err != nil || !reflect.DeepEqual(again, resp) {
		t.Errorf("streamed or samples: %v\n got %+v\nwant %+v", err, again, resp)
	}

	// Refusals.
	tooMany := &prompb.ReadRequest{Queries: make([]*prompb.Query, promReadMaxQueries+1)}
	for i := range tooMany.Queries {
		tooMany.Queries[i] = queries[0]
	}
	for _, tc := range []struct {
		what string
		a    answer
		code int
		msg  string
	}{
		{"not snappy", do(t, h, "POST", "/api/v1/read", strings.NewReader("not snappy")), 400, "decoding the request"},
		{"GET", do(t, h, "GET", "/api/v1/read", nil), 405, "method GET not allowed"},
		{"too many queries", postRead(t, h, tooMany), 400, "101 queries in one request"},
		{"unknown type", postRead(t, h, &prompb.ReadRequest{Queries: queries[:1], AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{7}}), 400,
			"does not support any of the requested response types"},
		{"streamed chunks only", postRead(t, h, &prompb.ReadRequest{Queries: queries[:1], AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS}}), 400,
			"does not support any of the requested response types"},
		{"bad regex", postRead(t, h, &prompb.ReadRequest{Queries: []*prompb.Query{readQuery(now, now, "record~(")}}), 400, "error parsing regexp"},
	} {
		if tc.a.code != tc.code || !strings.Contains(string(tc.a.body), tc.msg) {
			t.Errorf("%s: %d %s; want %d %q", tc.what, tc.a.code, tc.a.body, tc.code, tc.msg)
		}
	}
	// The sample limit counts the samples of all the queries (11, 4, 3).
	for _, tc := range []struct{ limit, code int }{{17, 400}, {11, 400}, {18, 200}} {
		req := httptest.NewRequest("POST", "/api/v1/read", bytes.NewReader(snappy.Encode(nil, must(t, (&prompb.ReadRequest{Queries: queries}).Marshal))))
		rec := httptest.NewRecorder()
		(&remoteRead{h: h, sampleLimit: tc.limit}).ServeHTTP(rec, req)
		if rec.Code != tc.code || tc.code == 400 && !strings.Contains(rec.Body.String(), fmt.Sprintf("exceeded sample limit (%d samples", tc.limit)) {
			t.Errorf("sample limit %d: %d %s", tc.limit, rec.Code, rec.Body)
		}
	}

	// The token, as on /api/v1/query: 401 without it, and without a token
	// the guard's 403 for a Host that is not a loopback name.
	th := NewHandler(h.db, WithToken("s3cret"))
	read := &prompb.ReadRequest{Queries: queries[:1]}
	query := url.Values{"query": {"counter"}}
	for _, tc := range []struct {
		what       string
		h          http.Handler
		host, auth string
		code       int
	}{
		{"no token", th, "127.0.0.1", "", 401},
		{"wrong token", th, "127.0.0.1", "Bearer nope", 401},
		{"token", th, "127.0.0.1", "Bearer s3cret", 200},
		{"token, any Host", th, "rechist.example", "Bearer s3cret", 200},
		{"no token, foreign Host", h, "rechist.example", "", 403},
	} {
		b, _ := read.Marshal()
		codes := [2]int{}
		for i, target := range []string{"/api/v1/read", "/api/v1/query?" + query.Encode()} {
			r := httptest.NewRequest("POST", target, bytes.NewReader(snappy.Encode(nil, b))).WithContext(t.Context())
			r.Host = tc.host
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			tc.h.ServeHTTP(rec, r)
			codes[i] = rec.Code
		}
		if codes != [2]int{tc.code, tc.code} {
			t.Errorf("%s: read %d, query %d; want %d", tc.what, codes[0], codes[1], tc.code)
		}
	}
}

// must is f's result, failing t on its error.
func must[T any](t *testing.T, f func() (T, error)) T {
	t.Helper()
	v, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// readyLog collects a process's log and closes ready once a line holds
// the word it waits for.
type readyLog struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	word  string
	ready chan struct{}
	once  sync.Once
}

// Write appends p, closing ready at the word.
func (l *readyLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if strings.Contains(l.buf.String(), l.word) {
		l.once.Do(func() { close(l.ready) })
	}
	return len(p), nil
}

// String is the log so far.
func (l *readyLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// promVector is an instant query's result, as Prometheus's API answers it.
type promVector []struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// queryAt runs an instant query at at against the Prometheus API at base
// (a server's address, within ctx; or h when base is empty): its result
// and warnings.
func queryAt(ctx context.Context, t *testing.T, base string, h http.Handler, query string, at time.Time) (promVector, []string) {
	t.Helper()
	form := url.Values{"query": {query}, "time": {fmt.Sprint(at.Unix())}}
	var code int
	var body []byte
	if base == "" {
		var p promAnswer
		code, p = promGet(t, h, "GET", "/api/v1/query", form)
		if code != 200 {
			t.Fatalf("rechist %s: %d %+v", query, code, p)
		}
		body, _ = json.Marshal(map[string]any{"status": p.Status, "data": p.Data})
	} else {
		req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/query?"+form.Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("prometheus %s: %v", query, err)
		}
		defer resp.Body.Close()
		code = resp.StatusCode
		if body, err = io.ReadAll(resp.Body); err != nil {
			t.Fatalf("prometheus %s: reading the answer: %v", query, err)
		}
	}
	var out struct {
		Status   string   `json:"status"`
		Warnings []string `json:"warnings"`
		Data     struct {
			Result promVector `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil || code != 200 || out.Status != "success" {
		t.Fatalf("%s %s: %d %s (%v)", base, query, code, body, err)
	}
	return out.Data.Result, out.Warnings
}

// prometheusVersion is the version of the Prometheus server at base.
func prometheusVersion(ctx context.Context, t *testing.T, base string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/status/buildinfo", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("prometheus buildinfo: %v", err)
	}
	defer resp.Body.Close()
	var info struct {
		Data struct {
			Version string `json:"version"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatalf("prometheus buildinfo: %v", err)
	}
	return info.Data.Version
}

// A real Prometheus server (Debian's prometheus package) with remote_read
// pointed at rechist, with the token, answers PromQL over the history
// through its own API: the values promData stored, and the same answers
// as rechist's /api/v1/query. Without the binary the test skips.
func TestPrometheusServerReadsRemotely(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv(browserRequired) == "1" {
			t.Fatal("prometheus not found (apt-get install prometheus); CI requires it")
		}
		t.Skip("prometheus not found (apt-get install prometheus)")
	}
	h0, now := promData(t)
	const token = "remote-read-s3cret"
	h := NewHandler(h0.db, WithToken(token))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	conf := fmt.Sprintf("remote_read:\n  - url: %s/api/v1/read\n    read_recent: true\n    authorization:\n      credentials: %s\n", srv.URL, token)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	ctx, cancel := context.WithCancel(context.Background())
	log := &readyLog{word: "Server is ready to receive web requests", ready: make(chan struct{})}
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--storage.tsdb.retention.time=1d", "--log.level=info")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-exited
	})

	wait, stop := context.WithTimeout(t.Context(), 2*time.Minute)
	defer stop()
	select {
	case <-log.ready:
	case err := <-exited:
		t.Fatalf("prometheus exited before it was ready: %v\n%s", err, log)
	case <-wait.Done():
		t.Fatalf("prometheus not ready within 2 minutes\n%s", log)
	}
	base := "http://" + addr
	req, _ := http.NewRequestWithContext(wait, "GET", base+"/-/ready", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/-/ready: %v %v\n%s", resp, err, log)
	} else {
		resp.Body.Close()
	}

	for _, tc := range []struct {
		query string
		at    time.Time
		want  map[string]float64 // by the field label
	}{
		{`max_over_time({record="temperature::vienna"}[1h])`, now, map[string]float64{"celsius": 59, "humidity": 100}},
		{`{record="temperature::vienna"}`, now.Add(-30 * time.Minute), map[string]float64{"celsius": 29, "humidity": 71}},
		{`sum(count_over_time(counter[1h]))`, now, map[string]float64{"": 60}},
		{`counter`, now.Add(-10 * time.Minute), map[string]float64{"": 490}},
	} {
		got, _ := queryAt(wait, t, base, nil, tc.query, tc.at)
		values := map[string]float64{}
		for _, s := range got {
			var v float64
			fmt.Sscan(fmt.Sprint(s.Value[1]), &v)
			values[s.Metric["field"]] = v
		}
		if !reflect.DeepEqual(values, tc.want) {
			t.Errorf("prometheus %s at %s: %v; want %v", tc.query, tc.at.Format(time.TimeOnly), got, tc.want)
		}
		if own, _ := queryAt(wait, t, "", h0, tc.query, tc.at); !reflect.DeepEqual(got, own) {
			t.Errorf("%s: prometheus answers %v, rechist %v", tc.query, got, own)
		}
	}
	// A record name that is not a classic metric name: Prometheus 3 reads
	// it; Prometheus 2 refuses the whole remote answer (a warning, no
	// series), as its remote-read client checks __name__ the classic way.
	const dotted = `max_over_time({record="sensors.temp.outdoor"}[1h])`
	got, warnings := queryAt(wait, t, base, nil, dotted, now)
	if version := prometheusVersion(wait, t, base); strings.HasPrefix(version, "2.") {
		if len(got) != 0 || len(warnings) != 1 || !strings.Contains(warnings[0], "invalid metric name: sensors.temp.outdoor") {
			t.Errorf("prometheus %s %s: %v %q; want no series and the warning of an invalid metric name", version, dotted, got, warnings)
		}
	} else if own, _ := queryAt(wait, t, "", h0, dotted, now); len(got) != 1 || got[0].Value[1] != "59.5" || !reflect.DeepEqual(got, own) {
		t.Errorf("prometheus %s %s: %v %q; want rechist's %v", version, dotted, got, warnings, own)
	}
	if t.Failed() {
		t.Logf("prometheus log:\n%s", log)
	}
}
