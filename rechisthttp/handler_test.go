package rechisthttp

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// openDB opens a fresh SQLite file in t.TempDir(), closed at the end.
func openDB(t *testing.T, opts ...rechist.Option) *rechist.DB {
	t.Helper()
	db, err := rechist.Open(t.Context(), filepath.Join(t.TempDir(), "history.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// store stores value under name at ms.
func store(t *testing.T, db *rechist.DB, name string, ms int64, value string) {
	t.Helper()
	if err := rechist.NewRepo[json.RawMessage](db).StoreAt(t.Context(), name, json.RawMessage(value), time.UnixMilli(ms)); err != nil {
		t.Fatal(err)
	}
}

type answer struct {
	code int
	body []byte
	hdr  http.Header
}

func do(t *testing.T, h http.Handler, method, target string, body io.Reader, hdr ...string) answer {
	t.Helper()
	req := httptest.NewRequest(method, target, body).WithContext(t.Context())
	// httptest's Host, example.com, is not a loopback name: the guard
	// refuses it. A POST is typed as JSON Lines, as every writer must.
	req.Host = "127.0.0.1"
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-ndjson")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{rec.Code, rec.Body.Bytes(), rec.Header()}
}

type queryAnswer struct {
	Records []row `json:"records"`
	Total   int   `json:"total"`
}

func decodeQuery(t *testing.T, a answer) queryAnswer {
	t.Helper()
	if a.code != 200 {
		t.Fatalf("status %d: %s", a.code, a.body)
	}
	var q queryAnswer
	if err := json.Unmarshal(a.body, &q); err != nil {
		t.Fatalf("%v: %s", err, a.body)
	}
	if q.Total != len(q.Records) {
		t.Fatalf("total %d, %d records", q.Total, len(q.Records))
	}
	return q
}

// reference is /api/query's answer computed the simple way: every row in
// memory, the newest limit per record, sorted by ts, name, insert order.
func reference(t *testing.T, db *rechist.DB, pattern string, limit int, start, end time.Time) []row {
	t.Helper()
	recs, err := rechist.Query[json.RawMessage](t.Context(), db, pattern, rechist.QueryParams{LimitPerRecord: limit, Start: start, End: end})
	if err != nil {
		t.Fatal(err)
	}
	// Query orders by name, newest first, later store first: reversed per
	// name that is insert order, so a stable sort by ts then name is it.
	slices.Reverse(recs)
	out := make([]row, len(recs))
	for i, r := range recs {
		out[i] = row{r.Name, r.Value, r.StoredAt.UnixMilli()}
	}
	slices.SortStableFunc(out, func(a, b row) int { return cmp.Or(cmp.Compare(a.TS, b.TS), cmp.Compare(a.Topic, b.Topic)) })
	return out
}

func TestQueryMatchesReference(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	rng := rand.New(rand.NewPCG(1, 2))
	var recs []rechist.Record[json.RawMessage]
	const base = int64(1_700_000_000_000)
	for i := range 600 {
		name := fmt.Sprintf("r%d", rng.IntN(7))
		if i%50 == 0 {
			name = "stale" // a record with old rows only
		}
		ms := base + int64(rng.IntN(200))*1000 // many equal times: ties
		if name == "stale" {
			ms = base - 1e9 + int64(i)
		}
		recs = append(recs, rechist.Record[json.RawMessage]{Name: name, Value: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i)), StoredAt: time.UnixMilli(ms)})
	}
	// Several transactions, so insert order is not name order.
	repo := rechist.NewRepo[json.RawMessage](db)
	for c := range slices.Chunk(recs, 37) {
		if err := repo.StoreMany(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	for _, rows := range []int{3, 50, 10_000} { // small windows exercise halving and doubling
		h := NewHandler(db)
		h.cfg.windowRows = rows
		for _, tc := range []struct {
			pattern    string
			limit      int
			start, end int64
		}{
			{"*", 0, 0, 0}, {"*", 1, 0, 0}, {"*", 3, 0, 0}, {"r*", 5, 0, 0}, {"r1", 0, 0, 0},
			{"*", 0, base + 50_000, base + 120_000}, {"*", 2, base + 50_000, base + 120_000},
			{"*", 0, base + 77_000, base + 77_000}, {"none*", 0, 0, 0},
		} {
			target := fmt.Sprintf("/api/query?pattern=%s&limit=%d", tc.pattern, tc.limit)
			var start, end time.Time
			if tc.start != 0 {
				target += fmt.Sprintf("&start=%d&end=%d", tc.start, tc.end)
				start, end = time.UnixMilli(tc.start), time.UnixMilli(tc.end)
			}
			got := decodeQuery(t, do(t, h, "GET", target, nil)).Records
			want := reference(t, db, tc.pattern, tc.limit, start, end)
			if len(got) != len(want) {
				t.Fatalf("window %d, %s: %d rows, want %d", rows, target, len(got), len(want))
			}
			for i := range got {
				if got[i].Topic != want[i].Topic || got[i].TS != want[i].TS || !bytes.Equal(got[i].Payload, want[i].Payload) {
					t.Fatalf("window %d, %s: row %d is %+v, want %+v", rows, target, i, got[i], want[i])
				}
			}
		}
	}
}

func TestQueryDefaults(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	store(t, db, "a", 1000, `{"v":1}`)
	store(t, db, "a", 2000, `{"v":2}`)
	store(t, db, "b", 1500, `3`)
	q := decodeQuery(t, do(t, NewHandler(db), "GET", "/api/query", nil))
	want := `[{"topic":"b","payload":3,"ts":1500},{"topic":"a","payload":{"v":2},"ts":2000}]`
	got, _ := json.Marshal(q.Records)
	if string(got) != want {
		t.Errorf("default query (limit 1, every record): %s, want %s", got, want)
	}
	// An empty answer is still the shape.
	a := do(t, NewHandler(db), "GET", "/api/query?pattern=zzz", nil)
	if strings.TrimSpace(string(a.body)) != `{"records":[],"total":0}` {
		t.Errorf("empty answer: %s", a.body)
	}
}

func TestTopicPatternsDefault(t *testing.T) {
	t.Parallel()
	db := openDB(t, rechist.WithTopicPatterns())
	store(t, db, "sensors.temp", 1000, `1`)
	q := decodeQuery(t, do(t, NewHandler(db, TopicPatterns()), "GET", "/api/query", nil))
	if q.Total != 1 {
		t.Errorf("topic patterns: the default pattern # found %d rows", q.Total)
	}
}

func TestRecordsAggregateExport(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	for i := range 10 {
		store(t, db, "t::a", int64(i)*1000, fmt.Sprintf(`{"c":%d}`, i))
	}
	store(t, db, "t::b", 500, `{"c":"x"}`)
	h := NewHandler(db)

	a := do(t, h, "GET", "/api/records?pattern=t::*", nil)
	if want := `[{"name":"t::a","rows":10,"first":0,"last":9000},{"name":"t::b","rows":1,"first":500,"last":500}]`; strings.TrimSpace(string(a.body)) != want {
		t.Errorf("records: %d %s, want %s", a.code, a.body, want)
	}

	a = do(t, h, "GET", "/api/aggregate?pattern=t::*&field=c&every=5s&start=0&end=9000", nil)
	want := `[{"name":"t::a","buckets":[{"start":0,"count":5,"min":0,"max":4,"mean":2,"sum":10,"first":0,"last":4},` +
		`{"start":5000,"count":5,"min":5,"max":9,"mean":7,"sum":35,"first":5,"last":9}]}]`
	if strings.TrimSpace(string(a.body)) != want {
		t.Errorf("aggregate: %d %s\nwant %s", a.code, a.body, want)
	}

	a = do(t, h, "GET", "/api/export?format=csv&pattern=t::a&start=8000", nil)
	wantCSV := "record,ts,time,value\nt::a,9000,1970-01-01T00:00:09.000Z,\"{\"\"c\"\":9}\"\nt::a,8000,1970-01-01T00:00:08.000Z,\"{\"\"c\"\":8}\"\n"
	if string(a.body) != wantCSV || !strings.HasPrefix(a.hdr.Get("Content-Disposition"), "attachment") {
		t.Errorf("csv export: %q, want %q (%v)", a.body, wantCSV, a.hdr)
	}
	a = do(t, h, "GET", "/api/export?format=jsonl&pattern=t::b", nil)
	if want := `{"name":"t::b","value":{"c":"x"},"at":500}` + "\n"; string(a.body) != want {
		t.Errorf("jsonl export: %q, want %q", a.body, want)
	}
}

func TestWritable(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	h := NewHandler(db, Writable())
	a := do(t, h, "POST", "/api/ingest", strings.NewReader(
		`{"name":"w","value":{"x":1},"at":1000}`+"\n\n"+`{"name":"w","value":2,"at":"1970-01-01T00:00:02Z"}`+"\n"+`{"name":"v","value":3}`))
	if a.code != 200 || strings.TrimSpace(string(a.body)) != `{"stored":3}` {
		t.Fatalf("ingest: %d %s", a.code, a.body)
	}
	q := decodeQuery(t, do(t, h, "GET", "/api/query?pattern=w&limit=0", nil))
	if q.Total != 2 || q.Records[0].TS != 1000 || q.Records[1].TS != 2000 {
		t.Errorf("after ingest: %+v", q)
	}
	// A bad line stores nothing and names the line.
	a = do(t, h, "POST", "/api/ingest", strings.NewReader(`{"name":"w","value":5}`+"\n"+`{"name":"w"}`+"\n"+`{"nme":"w","value":1}`))
	if a.code != 400 || !strings.Contains(string(a.body), `"line":2`) || !strings.Contains(string(a.body), `"line":3`) {
		t.Errorf("bad ingest: %d %s", a.code, a.body)
	}
	if q := decodeQuery(t, do(t, h, "GET", "/api/query?pattern=w&limit=0", nil)); q.Total != 2 {
		t.Errorf("a refused ingest stored rows: %d rows", q.Total)
	}
	a = do(t, h, "DELETE", "/api/records?pattern=w&end=1500", nil)
	if a.code != 200 || strings.TrimSpace(string(a.body)) != `{"deleted":1}` {
		t.Errorf("delete: %d %s", a.code, a.body)
	}
	if a := do(t, h, "DELETE", "/api/records", nil); a.code != 400 {
		t.Errorf("delete without a pattern: %d %s", a.code, a.body)
	}
}

func TestStatusCodes(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	store(t, db, "a", 1000, `1`)
	ro := NewHandler(db)
	small := NewHandler(db, Writable(), WithMaxBodyBytes(100))
	tok := NewHandler(db, WithToken("s3cret"))
	for _, tc := range []struct {
		h            http.Handler
		method, path string
		body         string
		hdr          []string
		code         int
	}{
		{ro, "GET", "/api/query?limit=x", "", nil, 400},
		{ro, "GET", "/api/query?limit=-1", "", nil, 400},
		{ro, "GET", "/api/query?start=abc", "", nil, 400},
		{ro, "GET", "/api/query?start=-5", "", nil, 400},
		{ro, "GET", "/api/query?start=2000&end=1000", "", nil, 400},
		{ro, "GET", "/api/query?pattern=%00", "", nil, 400}, // the library's ErrInvalidArgument
		{ro, "GET", "/api/records?pattern=%ff", "", nil, 400},
		{ro, "GET", "/api/aggregate?pattern=a", "", nil, 400},
		{ro, "GET", "/api/aggregate?pattern=a&every=1.5ms", "", nil, 400},
		{ro, "GET", "/api/aggregate?pattern=a&every=1ms&start=0&end=99999999999", "", nil, 200}, // one row: one bucket (TestAggregateBucketsFromTheDataSpan)
		{ro, "GET", "/api/aggregate?pattern=a&every=1d", "", nil, 200},
		{ro, "GET", "/api/export?format=xml", "", nil, 400},
		{ro, "GET", "/api/nothing", "", nil, 404},
		{ro, "GET", "/nothing", "", nil, 404},
		{ro, "POST", "/api/query", "", nil, 405},
		{ro, "PUT", "/api/records", "", nil, 405},
		{ro, "POST", "/api/ingest", `{"name":"a","value":1}`, nil, 403},
		{ro, "DELETE", "/api/records?pattern=a", "", nil, 403},
		{ro, "GET", "/healthz", "", nil, 200},
		{ro, "GET", "/", "", nil, 200},
		{small, "POST", "/api/ingest", strings.Repeat(`{"name":"a","value":1}`+"\n", 10), nil, 413},
		{tok, "GET", "/api/query", "", nil, 401},
		{tok, "GET", "/metrics", "", nil, 401},
		{tok, "GET", "/api/query", "", []string{"Authorization", "Bearer wrong"}, 401},
		{tok, "GET", "/api/query", "", []string{"Authorization", "Basic czNjcmV0"}, 401},
		{tok, "GET", "/api/query?token=wrong", "", nil, 401},
		{tok, "GET", "/api/query", "", []string{"Authorization", "Bearer s3cret"}, 200},
		{tok, "GET", "/api/query?token=s3cret", "", nil, 200},
		{tok, "GET", "/metrics?token=s3cret", "", nil, 200},
		{tok, "GET", "/", "", nil, 200}, // the page itself holds no data
		{tok, "GET", "/healthz", "", nil, 200},
	} {
		a := do(t, tc.h, tc.method, tc.path, strings.NewReader(tc.body), tc.hdr...)
		if a.code != tc.code {
			t.Errorf("%s %s %v: %d %s, want %d", tc.method, tc.path, tc.hdr, a.code, a.body, tc.code)
			continue
		}
		if tc.path != "/" && tc.path != "/metrics?token=s3cret" {
			var v any
			if err := json.Unmarshal(a.body, &v); err != nil {
				t.Errorf("%s %s: not JSON: %s", tc.method, tc.path, a.body)
			}
			if m, ok := v.(map[string]any); tc.code >= 400 && (!ok || m["error"] == nil) {
				t.Errorf("%s %s: error without {\"error\"}: %s", tc.method, tc.path, a.body)
			}
		}
	}
}

func TestClosedIs503(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	h := NewHandler(db)
	db.Close()
	for _, p := range []string{"/api/query", "/api/records", "/healthz"} {
		if a := do(t, h, "GET", p, nil); a.code != 503 || a.hdr.Get("Retry-After") == "" {
			t.Errorf("%s on a closed DB: %d %s", p, a.code, a.body)
		}
	}
}

func TestDeadlineIs503(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	store(t, db, "a", 1000, `1`)
	h := NewHandler(db, WithQueryTimeout(time.Nanosecond))
	if a := do(t, h, "GET", "/api/records", nil); a.code != 503 {
		t.Errorf("a query past its deadline: %d %s", a.code, a.body)
	}
}

func TestMountedUnderPrefix(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	store(t, db, "a", 1000, `1`)
	mux := http.NewServeMux()
	mux.Handle("/history/", http.StripPrefix("/history", NewHandler(db)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "the app's own", 418) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(p string) (*http.Response, string) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+p, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	if res, body := get("/history/"); res.StatusCode != 200 || !strings.Contains(body, `src="app.js"`) || res.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("page under /history/: %d %v", res.StatusCode, res.Header)
	}
	if res, _ := get("/history"); res.Request.URL.Path != "/history/" {
		t.Errorf("/history went to %s, want /history/", res.Request.URL.Path)
	}
	if res, body := get("/history/api/query?pattern=a"); res.StatusCode != 200 || !strings.Contains(body, `"total":1`) {
		t.Errorf("api under /history/: %d %s", res.StatusCode, body)
	}
	for _, p := range []string{"/history/app.js", "/history/style.css"} {
		if res, _ := get(p); res.StatusCode != 200 {
			t.Errorf("%s: %d", p, res.StatusCode)
		}
	}
	if res, _ := get("/api/query"); res.StatusCode != 418 {
		t.Errorf("outside the prefix: %d", res.StatusCode)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	store(t, db, "a", 1000, `1`)
	h := NewHandler(db)
	do(t, h, "GET", "/api/query", nil)
	do(t, h, "GET", "/api/query?limit=x", nil)
	a := do(t, h, "GET", "/metrics", nil)
	for _, want := range []string{
		`rechist_http_requests_total{code="200",route="/api/query"} 1`,
		`rechist_http_requests_total{code="400",route="/api/query"} 1`,
		"rechist_rows_written_total 1",
		"rechist_queue_capacity ",
		"rechist_stream_subscribers 0",
	} {
		if !strings.Contains(string(a.body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestClientGoneCancelsQuery(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	store(t, db, "a", 1000, `1`)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req := httptest.NewRequest("GET", "/api/export", nil).WithContext(ctx)
	req.Host = "127.0.0.1" // not httptest's example.com, which the guard refuses
	rec := httptest.NewRecorder()
	NewHandler(db).ServeHTTP(rec, req)
	if rec.Code == 200 {
		t.Errorf("a request whose client left: %d %s", rec.Code, rec.Body)
	}
}

// cancelOnWrite is a ResponseWriter whose client leaves as the first bytes
// of the answer reach it.
type cancelOnWrite struct {
	*httptest.ResponseRecorder
	cancel context.CancelFunc
}

func (c *cancelOnWrite) Write(b []byte) (int, error) {
	c.cancel()
	return c.ResponseRecorder.Write(b)
}

// An export its client abandons midway is cut (the handler aborts) and
// logged at debug level, not as a warning: the operator has nothing to do
// about a client that left. Before, every such export was a WARN line.
func TestClientGoneMidAnswerIsNoWarning(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	var recs []rechist.Record[json.RawMessage]
	for i := range 3000 {
		recs = append(recs, rechist.Record[json.RawMessage]{Name: "a", Value: json.RawMessage(`"` + strings.Repeat("x", 100) + `"`), StoredAt: time.UnixMilli(int64(i + 1))})
	}
	if err := rechist.NewRepo[json.RawMessage](db).StoreMany(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	h := NewHandler(db, WithLogger(slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	ctx, cancel := context.WithCancel(t.Context())
	req := httptest.NewRequest("GET", "/api/export?format=jsonl", nil).WithContext(ctx)
	req.Host = "127.0.0.1"
	aborted := func() (p any) {
		defer func() { p = recover() }()
		h.ServeHTTP(&cancelOnWrite{httptest.NewRecorder(), cancel}, req)
		return nil
	}()
	if aborted != http.ErrAbortHandler {
		t.Fatalf("an export whose client left midway: recovered %v, want http.ErrAbortHandler", aborted)
	}
	if logged.Len() > 0 {
		t.Errorf("a client that left was logged at warn level or above:\n%s", logged.String())
	}
}
