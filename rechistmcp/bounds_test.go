package rechistmcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/seed178a96f3/rechist"
)

// many writes records × rows rows (one a second, record i's rows ending
// i seconds before end), each value about valueBytes long.
func many(t *testing.T, records, rows, valueBytes int, end time.Time) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "many.db")
	db, err := rechist.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", valueBytes)
	var recs []rechist.Record[json.RawMessage]
	for i := range records {
		for j := range rows {
			at := end.Add(-time.Duration(i+j*records) * time.Second)
			recs = append(recs, rechist.Record[json.RawMessage]{Name: fmt.Sprintf("r::%04d", i), Value: json.RawMessage(fmt.Sprintf(`{"n":%d,"pad":%q}`, j, pad)), StoredAt: at})
		}
		if len(recs) >= 5000 || i == records-1 {
			if err := rechist.NewRepo[json.RawMessage](db).StoreMany(t.Context(), recs); err != nil {
				t.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// timeline is what query_history must answer: the range in Timeline's
// order, as name@time.
func timeline(t *testing.T, db *rechist.DB, pattern string) []string {
	t.Helper()
	var out []string
	for rec, err := range rechist.NewRepo[json.RawMessage](db).Timeline(t.Context(), pattern, rechist.QueryParams{}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec.Name+"@"+rfc(rec.StoredAt))
	}
	return out
}

// Past the merge cap (records × limit), the newest rows come from the
// ring streamed from the limit-th newest record's last row, the oldest
// from the head of the range: both what Timeline says, at scale (1,001
// records). tailStart is that bound, and the ring falls back to the whole
// range when the bound holds fewer rows.
func TestHistoryRingAtScale(t *testing.T) {
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	path := many(t, 1001, 3, 8, end)
	db := openRead(t, path)
	want := timeline(t, db, "*")
	cs := connectHTTP(t, db, at(end))
	for _, c := range []struct {
		order string
		limit int
	}{{"newest", 1000}, {"newest", 7}, {"oldest", 1000}, {"oldest", 7}} {
		out := call[historyOut](t, cs, "query_history", map[string]any{"pattern": "*", "limit": c.limit, "order": c.order})
		var got []string
		for _, r := range out.Rows {
			got = append(got, r.Name+"@"+r.At)
		}
		w := want[len(want)-c.limit:]
		if c.order == "oldest" {
			w = want[:c.limit]
		}
		if !slices.Equal(got, w) || out.Total != 3003 || !out.TotalExact {
			t.Errorf("%s %d: total %d, %d rows, first %v, want first %v", c.order, c.limit, out.Total, len(got), got[:min(2, len(got))], w[:2])
		}
	}

	recs, err := db.Records(t.Context(), "*")
	if err != nil {
		t.Fatal(err)
	}
	// Record i's last row is i seconds before end: the 1000th newest Last
	// is 999 s before it.
	from, ok := tailStart(recs, rechist.QueryParams{}, 1000)
	if !ok || !from.Equal(end.Add(-999*time.Second)) {
		t.Errorf("tailStart 1000: %v %v, want %v", from, ok, end.Add(-999*time.Second))
	}
	if _, ok := tailStart(recs, rechist.QueryParams{}, 1002); ok {
		t.Error("tailStart with fewer records than limit gave a bound")
	}
	// A record whose Last lies after the range's end says nothing of its
	// newest row in range: it is left out.
	if from, ok := tailStart(recs, rechist.QueryParams{End: end.Add(-time.Second)}, 1000); !ok || !from.Equal(end.Add(-1000*time.Second)) {
		t.Errorf("tailStart with an end: %v %v", from, ok)
	}
	// A bound past the rows (a Last from a tier, rows deleted): the ring
	// falls back to the whole range.
	tl := &tools{db: db, cfg: newConfig([]Option{func(c *config) { c.mergeCap = 1 }})}
	bogus := slices.Clone(recs)
	for i := range bogus {
		bogus[i].Last = end.Add(time.Hour)
	}
	rows, err := tl.newestRows(t.Context(), "*", rechist.QueryParams{}, 5, bogus)
	if err != nil || len(rows) != 5 || rows[4].name+"@"+rfc(rows[4].at) != want[len(want)-1] {
		t.Fatalf("fallback: %d rows, %v", len(rows), err)
	}
}

// While collecting, query_history holds at most limit rows and each value
// clipped to one byte over what a result shows whole, whatever the range
// holds: on both paths, newest and oldest.
func TestHistoryHoldsBoundedRows(t *testing.T) {
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	path := many(t, 20, 50, 4096, end)
	db := openRead(t, path)
	recs, err := db.Records(t.Context(), "*")
	if err != nil {
		t.Fatal(err)
	}
	for _, mergeCap := range []int{defaultMergeCap, 1} {
		tl := &tools{db: db, cfg: newConfig([]Option{WithMaxValueBytes(100), func(c *config) { c.mergeCap = mergeCap }})}
		for _, newest := range []bool{true, false} {
			var rows []kept
			if newest {
				rows, err = tl.newestRows(t.Context(), "*", rechist.QueryParams{}, 30, recs)
			} else {
				rows, err = tl.oldestRows(t.Context(), "*", rechist.QueryParams{}, 30, recs)
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 30 || cap(rows) > 60 {
				t.Errorf("merge cap %d newest %v: %d rows held, capacity %d", mergeCap, newest, len(rows), cap(rows))
			}
			for _, r := range rows {
				if len(r.value) != 101 || r.bytes < 4096 {
					t.Fatalf("merge cap %d newest %v: a value held as %d bytes of %d", mergeCap, newest, len(r.value), r.bytes)
				}
			}
			if !slices.IsSortedFunc(rows, timeOrder) {
				t.Errorf("merge cap %d newest %v: not in time order", mergeCap, newest)
			}
		}
	}
	// The result: previews with the full length, within the byte budget
	// as encoded.
	cs := connectHTTP(t, db, at(end), WithMaxValueBytes(100), WithMaxResultBytes(3000))
	res := callRaw(t, cs, "query_history", map[string]any{"pattern": "*", "limit": 1000})
	var out historyOut
	if err := json.Unmarshal([]byte(text(res)), &out); err != nil {
		t.Fatal(err)
	}
	rowsJSON, _ := json.Marshal(out.Rows)
	if len(rowsJSON) > 3000 || out.Returned < 5 || out.Rows[0].Bytes < 4096 || !strings.Contains(out.Note, "as many as fit in 3000 bytes") {
		t.Fatalf("rows %d bytes of JSON, %d rows, first %+v, note %q", len(rowsJSON), out.Returned, out.Rows[0].value, out.Note)
	}
}

// aggregate returns at most limit buckets in all: the first limit series
// by name, with series_total; a short series leaves its share to the
// others; and the buckets stop at the byte budget.
func TestAggregateBoundedByLimit(t *testing.T) {
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	path := many(t, 30, 4, 1, end)
	db := openRead(t, path)
	cs := connectHTTP(t, db, at(end))
	out := call[aggregateOut](t, cs, "aggregate", map[string]any{"pattern": "*", "field": "n", "every": "1s", "limit": 10})
	if len(out.Series) != 10 || out.SeriesAll != 30 || out.Returned != 10 || out.Total != 120 || !out.Truncated ||
		out.Series[0].Name != "r::0000" || out.Series[9].Name != "r::0009" || !strings.Contains(out.Note, "first 10 of 30 series") {
		t.Fatalf("30 series, limit 10: %d series, total %d, returned %d, note %q", len(out.Series), out.SeriesAll, out.Returned, out.Note)
	}
	// The byte budget: far fewer buckets than limit, the note says why.
	cs = connectHTTP(t, db, at(end), WithMaxResultBytes(1000))
	out = call[aggregateOut](t, cs, "aggregate", map[string]any{"pattern": "*", "field": "n", "every": "1s", "limit": 100})
	b, _ := json.Marshal(out.Series)
	if len(b) > 1000+40*len(out.Series) || out.Returned >= 100 || !strings.Contains(out.Note, "as many as fit in 1000 bytes") {
		t.Fatalf("budget 1000: %d bytes of series, %d buckets, note %q", len(b), out.Returned, out.Note)
	}
}

// shares checks the water-filling directly: series of 1, 5 and 5
// buckets, limit 7 gives 1, 3, 3.
func TestAggregateShares(t *testing.T) {
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := rechist.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	repo := rechist.NewRepo[float64](db)
	for name, n := range map[string]int{"a": 1, "b": 5, "c": 5} {
		for i := range n {
			if err := repo.StoreAt(t.Context(), name, float64(i), end.Add(-time.Duration(i)*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
	}
	cs := connectHTTP(t, db, at(end))
	out := call[aggregateOut](t, cs, "aggregate", map[string]any{"pattern": "*", "every": "1h", "limit": 7})
	var lens []int
	for _, s := range out.Series {
		lens = append(lens, len(s.Buckets))
	}
	if !slices.Equal(lens, []int{1, 3, 3}) || out.Returned != 7 || out.Total != 11 {
		t.Fatalf("shares %v, returned %d of %d", lens, out.Returned, out.Total)
	}
	// Each bucket's end is the next one's start; the one holding now is
	// partial (still filling), and so is one that starts before start.
	s := out.Series[1].Buckets
	for i := range len(s) - 1 {
		if s[i].End != s[i+1].Start {
			t.Errorf("bucket %d ends %s, the next starts %s", i, s[i].End, s[i+1].Start)
		}
	}
	if last := s[len(s)-1]; !last.Partial || last.End != rfc(end.Add(time.Hour)) {
		t.Errorf("the newest bucket: %+v", last)
	}
	if s[0].Partial {
		t.Errorf("a whole bucket is partial: %+v", s[0])
	}
	cut := call[aggregateOut](t, cs, "aggregate", map[string]any{"pattern": "b", "every": "1d", "start": rfc(end.Add(-90 * time.Minute)), "end": rfc(end.Add(-time.Minute))})
	if b := cut.Series[0].Buckets; len(b) != 1 || !b[0].Partial || b[0].End != rfc(end) {
		t.Errorf("a day cut by the range: %+v", cut.Series[0].Buckets)
	}
}

// A bucket's end where clocks change: Vienna's day of 25 hours.
func TestBucketEndAcrossDST(t *testing.T) {
	vie := mustZone(t, "Europe/Vienna")
	p := rechist.AggregateParams{Every: 24 * time.Hour, Location: vie}
	start := time.Date(2026, 10, 25, 0, 0, 0, 0, vie)
	if got, want := bucketEnd(p, start), time.Date(2026, 10, 26, 0, 0, 0, 0, vie); !got.Equal(want) {
		t.Errorf("25 h day ends %v, want %v", got, want)
	}
	start = time.Date(2026, 3, 29, 0, 0, 0, 0, vie)
	if got, want := bucketEnd(p, start), time.Date(2026, 3, 30, 0, 0, 0, 0, vie); !got.Equal(want) {
		t.Errorf("23 h day ends %v, want %v", got, want)
	}
}

// The slot wait: a done ctx is never "no free slot"; a cancelled call is a
// plain "cancelled" tool error, logged nowhere; a call that finds every
// slot taken within its timeout says so.
func TestSlotWait(t *testing.T) {
	tl := &tools{cfg: newConfig([]Option{WithMaxConcurrentCalls(1), WithQueryTimeout(50 * time.Millisecond)})}
	tl.slots = make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	tl.slots <- struct{}{} // every slot taken
	_, _, err := tl.call(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("done ctx: %v", err)
	}
	if msg := tl.toolError(ctx, "query_history", err).Error(); msg != "query_history was cancelled" {
		t.Errorf("cancelled: %q", msg)
	}
	_, _, err = tl.call(t.Context())
	if !errors.Is(err, errNoSlot) || !strings.Contains(err.Error(), "no free slot within 50ms (1 calls in progress)") {
		t.Fatalf("busy: %v", err)
	}
	<-tl.slots
	// A free slot is taken even with no time left: the query's own
	// timeout then fires.
	dl, cancel2 := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel2()
	if _, _, err := tl.call(dl); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expired ctx: %v", err)
	}
}

// Every protocol version the SDK speaks works over HTTP, the newest
// included, and the handler keeps no session: no Mcp-Session-Id, GET is
// refused.
func TestHTTPProtocolVersionsStateless(t *testing.T) {
	f := fill(t)
	db := openRead(t, f.path)
	for _, v := range mcp.SupportedProtocolVersions() {
		cs := connectHTTPVersion(t, db, v, at(f.now))
		out := call[listOut](t, cs, "list_records", map[string]any{"pattern": "temperature::*"})
		if out.Total != 2 {
			t.Errorf("protocol %s: %+v", v, out)
		}
		if got := cs.InitializeResult().ProtocolVersion; got != v {
			t.Errorf("asked for %s, got %s", v, got)
		}
		if cs.ID() != "" {
			t.Errorf("protocol %s: session id %q", v, cs.ID())
		}
	}
	srv := serve(t, db)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", srv+"/mcp", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET answered %d, want 405", resp.StatusCode)
	}
}

// list_records and stale_records stop at the byte budget too, measured
// as encoded, and say so.
func TestRecordsByteBudget(t *testing.T) {
	f := fill(t)
	cs := connectHTTP(t, openRead(t, f.path), at(f.now), WithMaxResultBytes(300))
	list := call[listOut](t, cs, "list_records", nil)
	b, _ := json.Marshal(list.Records)
	if len(list.Records) == 0 || len(list.Records) == 4 || len(b) > 300 || !list.Truncated ||
		list.Note != fmt.Sprintf("showing the first %d of 4 records by name, as many as fit in 300 bytes; narrow the pattern", len(list.Records)) {
		t.Fatalf("list: %d records, %d bytes, note %q", len(list.Records), len(b), list.Note)
	}
	st := call[staleOut](t, cs, "stale_records", map[string]any{"older_than": "30s"})
	b, _ = json.Marshal(st.Stale)
	if len(st.Stale) == 0 || len(st.Stale) == 3 || len(b) > 300 || st.Total != 3 || !st.Truncated || !strings.Contains(st.Note, "as many as fit in 300 bytes") {
		t.Fatalf("stale: %d records, %d bytes, note %q", len(st.Stale), len(b), st.Note)
	}
}

// stale_records counts nothing: it reads each record's newest and oldest
// row, and a record whose raw rows expired into a rollup tier by its
// exact name; it shows no row count.
func TestStaleFromSpans(t *testing.T) {
	f := fill(t)
	db, err := openWrite(t, f.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetPolicy(t.Context(), rechist.Policy{Pattern: "accuracy::vienna", Raw: time.Millisecond, Tiers: []rechist.Tier{{Every: time.Hour}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyRetention(t.Context()); err != nil {
		t.Fatal(err)
	}
	infos, err := db.Records(t.Context(), "accuracy::vienna")
	if err != nil || len(infos) != 1 || infos[0].Rows != 0 {
		t.Fatalf("the fixture: %+v %v (want a record held in its tier only)", infos, err)
	}
	cs := connectHTTP(t, db, at(f.now))
	res := callRaw(t, cs, "stale_records", map[string]any{"older_than": "30s"})
	out := call[staleOut](t, cs, "stale_records", map[string]any{"older_than": "30s"})
	var got []string
	for _, r := range out.Stale {
		got = append(got, fmt.Sprintf("%s %s..%s %v", r.Name, r.First, r.Last, r.Tiers))
	}
	want := []string{
		fmt.Sprintf("temperature::vienna %s..%s []", rfc(f.now.Add(-7*24*time.Hour)), rfc(f.now.Add(-2*time.Hour))),
		fmt.Sprintf("blob::big %s..%s []", rfc(f.now.Add(-time.Hour)), rfc(f.now.Add(-time.Hour))),
		fmt.Sprintf("accuracy::vienna %s..%s [1h]", rfc(infos[0].First), rfc(infos[0].Last)),
	}
	if !slices.Equal(got, want) || out.Reporting != 1 || strings.Contains(text(res), `"rows"`) {
		t.Fatalf("stale:\n got %v\nwant %v\n%s", got, want, text(res))
	}
}
