package rechisthttp

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/testutil/pgtest"
)

// family is one metric family of a scrape: its type and its values by
// the value of its one label ("" for an unlabelled metric).
type family struct {
	kind   string
	values map[string]float64
}

// scrape GETs /metrics of h and parses it.
func scrape(t *testing.T, h *Handler) map[string]family {
	t.Helper()
	a := do(t, h, "GET", "/metrics", nil)
	if a.code != 200 {
		t.Fatalf("/metrics: %d %s", a.code, a.body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(a.body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, a.body)
	}
	out := map[string]family{}
	for name, f := range fams {
		fam := family{kind: f.GetType().String(), values: map[string]float64{}}
		for _, m := range f.GetMetric() {
			label := ""
			if ls := m.GetLabel(); len(ls) > 0 {
				label = ls[0].GetValue()
			}
			switch {
			case m.GetGauge() != nil:
				fam.values[label] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				fam.values[label] = m.GetCounter().GetValue()
			}
		}
		out[name] = fam
	}
	return out
}

// value is the unlabelled value of the family name, which must be there.
func value(t *testing.T, fams map[string]family, name string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("/metrics lacks %s", name)
	}
	v, ok := f.values[""]
	if !ok {
		t.Fatalf("%s has no unlabelled value: %v", name, f.values)
	}
	return v
}

// storeCounts stores, for each i, counts[i] rows of record "rec.i", one
// a millisecond from base + 1000*i, and returns each record's newest time.
func storeCounts(t *testing.T, db *rechist.DB, base int64, counts []int) map[string]float64 {
	t.Helper()
	newest := map[string]float64{}
	var recs []rechist.Record[json.RawMessage]
	for i, n := range counts {
		name := fmt.Sprintf("rec.%d", i)
		for j := range n {
			ms := base + int64(1000*i+j)
			recs = append(recs, rechist.Record[json.RawMessage]{Name: name, StoredAt: time.UnixMilli(ms), Value: json.RawMessage(fmt.Sprint(j))})
			newest[name] = float64(ms) / 1000
		}
	}
	if err := rechist.NewRepo[json.RawMessage](db).StoreMany(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	return newest
}

// checkData checks the totals and the per-record series of a scrape
// against a database holding counts rows by record (storeCounts), with n
// series of their own at most.
func checkData(t *testing.T, fams map[string]family, counts []int, newest map[string]float64, base int64, n int) {
	t.Helper()
	total := 0
	for _, c := range counts {
		total += c
	}
	if got := value(t, fams, "rechist_stored_rows"); got != float64(total) {
		t.Errorf("rechist_stored_rows = %v, want %d", got, total)
	}
	if got := value(t, fams, "rechist_stored_records"); got != float64(len(counts)) {
		t.Errorf("rechist_stored_records = %v, want %d", got, len(counts))
	}
	if got, want := value(t, fams, "rechist_oldest_row_timestamp_seconds"), float64(base)/1000; got != want {
		t.Errorf("rechist_oldest_row_timestamp_seconds = %v, want %v", got, want)
	}
	last := 0.0
	for _, v := range newest {
		last = max(last, v)
	}
	if got := value(t, fams, "rechist_newest_row_timestamp_seconds"); got != last {
		t.Errorf("rechist_newest_row_timestamp_seconds = %v, want %v", got, last)
	}
	if got := value(t, fams, "rechist_db_file_bytes"); got <= 0 {
		t.Errorf("rechist_db_file_bytes = %v, want > 0", got)
	}
	// The n records with the most rows (storeCounts gives each its own
	// count) have series; no other record has.
	order := make([]int, len(counts))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(counts[b]-counts[a], strings.Compare(fmt.Sprintf("rec.%d", a), fmt.Sprintf("rec.%d", b)))
	})
	wantNewest, wantRows := map[string]float64{}, map[string]float64{}
	for _, i := range order[:min(n, len(order))] {
		name := fmt.Sprintf("rec.%d", i)
		wantNewest[name], wantRows[name] = newest[name], float64(counts[i])
	}
	for name, want := range map[string]map[string]float64{
		"rechist_record_newest_row_timestamp_seconds": wantNewest, "rechist_record_rows": wantRows} {
		got := fams[name].values
		if len(want) == 0 {
			if _, ok := fams[name]; ok {
				t.Errorf("%s present with n=0: %v", name, got)
			}
			continue
		}
		if fams[name].kind != "GAUGE" || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s (%s):\n got %v\nwant %v", name, fams[name].kind, got, want)
		}
	}
}

// The data gauges of a SQLite file: the totals and file sizes, and the
// newest row time and rows of the N records with the most rows, N+5
// records stored; N=0 turns the per-record series off, the default is 10.
func TestMetricsData(t *testing.T) {
	t.Parallel()
	const base = 1_700_000_000_000
	for _, tc := range []struct {
		name    string
		opts    []Option
		n       int
		records int
	}{
		{"n=3", []Option{WithMetricsRecords(3)}, 3, 8},
		{"n=0", []Option{WithMetricsRecords(0)}, 0, 5},
		{"negative", []Option{WithMetricsRecords(-2)}, 0, 5},
		{"default", nil, defaultMetricsRecords, defaultMetricsRecords + 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := openDB(t)
			counts := make([]int, tc.records)
			for i := range counts {
				counts[i] = 1 + (i*7)%tc.records // distinct counts, not in name order
			}
			newest := storeCounts(t, db, base, counts)
			h := NewHandler(db, tc.opts...)
			fams := scrape(t, h)
			checkData(t, fams, counts, newest, base, tc.n)
			if _, ok := fams["rechist_db_wal_bytes"]; !ok {
				t.Error("/metrics lacks rechist_db_wal_bytes on SQLite")
			}
			if _, ok := fams["rechist_db_free_bytes"]; !ok {
				t.Error("/metrics lacks rechist_db_free_bytes on SQLite")
			}
			if got := value(t, fams, "rechist_metrics_read_errors_total"); got != 0 {
				t.Errorf("rechist_metrics_read_errors_total = %v", got)
			}
			if got := value(t, fams, "rechist_sync_sources"); got != 0 {
				t.Errorf("rechist_sync_sources = %v without sync", got)
			}
			if _, ok := fams["rechist_sync_rows_total"]; ok {
				t.Error("rechist_sync_rows_total without sources")
			}
			// A later write shows at the next scrape: nothing is cached.
			store(t, db, fmt.Sprintf("rec.%d", tc.records), base+1_000_000, `1`)
			counts = append(counts, 1)
			newest[fmt.Sprintf("rec.%d", tc.records)] = float64(base+1_000_000) / 1000
			checkData(t, scrape(t, h), counts, newest, base, tc.n)
		})
	}
}

// An empty database: zero rows and records, no times, no per-record
// series.
func TestMetricsDataEmpty(t *testing.T) {
	t.Parallel()
	h := NewHandler(openDB(t))
	fams := scrape(t, h)
	if value(t, fams, "rechist_stored_rows") != 0 || value(t, fams, "rechist_stored_records") != 0 {
		t.Errorf("empty: rows %v, records %v", fams["rechist_stored_rows"], fams["rechist_stored_records"])
	}
	for _, name := range []string{"rechist_oldest_row_timestamp_seconds", "rechist_newest_row_timestamp_seconds", "rechist_record_rows"} {
		if _, ok := fams[name]; ok {
			t.Errorf("empty: %s present", name)
		}
	}
}

// Sync sources: the rows each sent, its missed ids and its last batch
// time for the N that sent the most; the total and the oldest last batch
// over all of them.
func TestMetricsDataSync(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dst := openDB(t)
	sent := []int{5, 2, 9} // with N=2: the sources of 9 and 5 rows
	ids := make([]string, len(sent))
	for i, n := range sent {
		src := openDB(t)
		storeCounts(t, src, 1_700_000_000_000, []int{n})
		r, err := rechist.Sync(ctx, src, dst, rechist.SyncPrefix(fmt.Sprintf("dev%d.", i)))
		if err != nil {
			t.Fatal(err)
		}
		if r.Copied != int64(n) {
			t.Fatalf("source %d: copied %d, want %d", i, r.Copied, n)
		}
		ids[i] = r.Source
	}
	statuses, err := dst.SyncSources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	updated := map[string]float64{}
	oldest := 0.0
	for _, s := range statuses {
		updated[s.Source] = seconds(s.Updated)
		if oldest == 0 || updated[s.Source] < oldest {
			oldest = updated[s.Source]
		}
	}
	fams := scrape(t, NewHandler(dst, WithMetricsRecords(2)))
	if got := value(t, fams, "rechist_sync_sources"); got != 3 {
		t.Errorf("rechist_sync_sources = %v, want 3", got)
	}
	if got := value(t, fams, "rechist_sync_received_rows_total"); got != 16 {
		t.Errorf("rechist_sync_received_rows_total = %v, want 16", got)
	}
	if got := value(t, fams, "rechist_sync_oldest_last_batch_timestamp_seconds"); got != oldest {
		t.Errorf("rechist_sync_oldest_last_batch_timestamp_seconds = %v, want %v", got, oldest)
	}
	top := []string{ids[2], ids[0]}
	for name, want := range map[string]map[string]float64{
		"rechist_sync_rows_total":                   {ids[2]: 9, ids[0]: 5},
		"rechist_sync_missed_rows_total":            {ids[2]: 0, ids[0]: 0},
		"rechist_sync_last_batch_timestamp_seconds": {top[0]: updated[top[0]], top[1]: updated[top[1]]},
	} {
		if got := fams[name].values; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s:\n got %v\nwant %v", name, got, want)
		}
	}
	if k := fams["rechist_sync_rows_total"].kind; k != "COUNTER" {
		t.Errorf("rechist_sync_rows_total is a %s", k)
	}
	// The destination's own rows count in its totals, as any others.
	if got := value(t, fams, "rechist_stored_rows"); got != 16 {
		t.Errorf("rechist_stored_rows = %v, want 16", got)
	}
	fams = scrape(t, NewHandler(dst, WithMetricsRecords(0)))
	if _, ok := fams["rechist_sync_rows_total"]; ok {
		t.Error("rechist_sync_rows_total with N=0")
	}
	if got := value(t, fams, "rechist_sync_received_rows_total"); got != 16 {
		t.Errorf("N=0: rechist_sync_received_rows_total = %v, want 16", got)
	}
}

// A read that fails (the DB closed under the handler) leaves the data
// gauges out of the scrape and counts the failure; the rest is served.
func TestMetricsDataReadError(t *testing.T) {
	t.Parallel()
	db, err := rechist.Open(t.Context(), filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	store(t, db, "a", 1000, `1`)
	h := NewHandler(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		got, err := h.metrics.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]float64{}
		for _, f := range got {
			if len(f.GetMetric()) > 0 && f.GetMetric()[0].GetCounter() != nil {
				names[f.GetName()] = f.GetMetric()[0].GetCounter().GetValue()
			} else {
				names[f.GetName()] = 0
			}
		}
		if _, ok := names["rechist_stored_rows"]; ok {
			t.Error("rechist_stored_rows of a closed DB")
		}
		if names["rechist_metrics_read_errors_total"] != float64(i) {
			t.Errorf("scrape %d: rechist_metrics_read_errors_total = %v", i, names["rechist_metrics_read_errors_total"])
		}
		if _, ok := names["rechist_rows_written_total"]; !ok {
			t.Error("the Stats metrics went with the data gauges")
		}
	}
}

// The same gauges on PostgreSQL: the table's size instead of the file's,
// no WAL nor free bytes.
func TestMetricsDataPostgreSQL(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewSchema(t)
	db, err := rechist.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const base = 1_700_000_000_000
	counts := []int{3, 8, 1, 5, 2, 7, 4}
	newest := storeCounts(t, db, base, counts)
	fams := scrape(t, NewHandler(db, WithMetricsRecords(2)))
	checkData(t, fams, counts, newest, base, 2)
	for _, name := range []string{"rechist_db_wal_bytes", "rechist_db_free_bytes"} {
		if _, ok := fams[name]; ok {
			t.Errorf("%s on PostgreSQL", name)
		}
	}
	fams = scrape(t, NewHandler(db, WithMetricsRecords(0)))
	checkData(t, fams, counts, newest, base, 0)
}

// BenchmarkMetricsScrape is one scrape of /metrics of a file of
// RECHIST_BENCH_ROWS rows (default 200,000) over 1,000 records: "all" the
// whole registry, "data" the data gauges alone. They read the names
// table, so they cost the same at any number of rows.
func BenchmarkMetricsScrape(b *testing.B) {
	rows := 200_000
	if s := strings.TrimSpace(os.Getenv("RECHIST_BENCH_ROWS")); s != "" {
		fmt.Sscan(s, &rows)
	}
	db, err := rechist.Open(b.Context(), filepath.Join(b.TempDir(), "history.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	repo := rechist.NewRepo[json.RawMessage](db)
	const records, chunk = 1000, 50_000
	for done := 0; done < rows; done += chunk {
		recs := make([]rechist.Record[json.RawMessage], min(chunk, rows-done))
		for i := range recs {
			k := done + i
			recs[i] = rechist.Record[json.RawMessage]{Name: fmt.Sprintf("rec.%d", k%records), StoredAt: time.UnixMilli(int64(k)), Value: json.RawMessage(`{"v":1}`)}
		}
		if err := repo.StoreMany(b.Context(), recs); err != nil {
			b.Fatal(err)
		}
	}
	data := prometheus.NewRegistry()
	data.MustRegister(&dataCollector{db: db, n: defaultMetricsRecords, logger: slog.New(slog.DiscardHandler)})
	for name, reg := range map[string]prometheus.Gatherer{"all": NewHandler(db).metrics.reg, "data": data} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := reg.Gather(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
