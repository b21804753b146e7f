package rechisthttp

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/seed178a96f3/rechist"
)

// metrics is the handler's own registry: the DB's Stats, read at each
// scrape, the request counters, the stream's, the Go runtime's, and what
// the database holds (countData, metrics_data.go).
type metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	subscribers prometheus.Gauge
	streamed    prometheus.Counter
	dropped     prometheus.Counter
}

func newMetrics(db *rechist.DB) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rechist_http_requests_total", Help: "HTTP requests answered, by route and status code."},
			[]string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rechist_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route (streams: their whole life).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10)}, []string{"route"}),
		subscribers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rechist_stream_subscribers", Help: "Clients connected to /api/stream and AimX subscriptions open now."}),
		streamed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rechist_stream_rows_total", Help: "Rows sent to stream subscribers (one per row and subscriber)."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rechist_stream_dropped_total", Help: "Stream subscribers dropped for reading too slowly."}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.subscribers, m.streamed, m.dropped,
		statsCollector{db}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// statsCollector turns rechist.Stats into metrics at each scrape.
type statsCollector struct{ db *rechist.DB }

type statDesc struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(rechist.Stats) float64
}

var statDescs = []statDesc{
	counter("rechist_store_requests_total", "Store requests accepted (one per Store, one per StoreMany).", func(s rechist.Stats) int64 { return s.Requests }),
	counter("rechist_rows_written_total", "Rows committed.", func(s rechist.Stats) int64 { return s.RowsWritten }),
	counter("rechist_batches_total", "Write transactions committed or attempted.", func(s rechist.Stats) int64 { return s.Batches }),
	counter("rechist_write_errors_total", "Store requests that failed in the writer.", func(s rechist.Stats) int64 { return s.WriteErrors }),
	counter("rechist_abandoned_total", "Store requests given up by their caller while queued.", func(s rechist.Stats) int64 { return s.Abandoned }),
	counter("rechist_skipped_rows_total", "Rows a query skipped because they did not decode.", func(s rechist.Stats) int64 { return s.SkippedRows }),
	counter("rechist_cleanups_total", "Completed cleanups.", func(s rechist.Stats) int64 { return s.Cleanups }),
	counter("rechist_retention_passes_total", "Completed retention passes (stored policies and WithRetention), whether or not they deleted anything.", func(s rechist.Stats) int64 { return s.RetentionPasses }),
	counter("rechist_rows_deleted_total", "Rows deleted by cleanups.", func(s rechist.Stats) int64 { return s.RowsDeleted }),
	counter("rechist_wal_rewinds_total", "Times the SQLite writer let the WAL start over.", func(s rechist.Stats) int64 { return s.WALRewinds }),
	gauge("rechist_queue_depth", "Store requests waiting for the writer.", func(s rechist.Stats) int64 { return int64(s.QueueDepth) }),
	gauge("rechist_queue_capacity", "Room in the writer's queue.", func(s rechist.Stats) int64 { return int64(s.QueueCapacity) }),
}

func counter(name, help string, f func(rechist.Stats) int64) statDesc {
	return statDesc{prometheus.NewDesc(name, help, nil, nil), prometheus.CounterValue, func(s rechist.Stats) float64 { return float64(f(s)) }}
}

func gauge(name, help string, f func(rechist.Stats) int64) statDesc {
	return statDesc{prometheus.NewDesc(name, help, nil, nil), prometheus.GaugeValue, func(s rechist.Stats) float64 { return float64(f(s)) }}
}

func (c statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range statDescs {
		ch <- d.desc
	}
}

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.db.Stats()
	for _, d := range statDescs {
		ch <- prometheus.MustNewConstMetric(d.desc, d.kind, d.value(s))
	}
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and the deadlines.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// count counts a route's requests by status code and times them.
func (h *Handler) count(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		start := time.Now()
		defer func() {
			code := rec.code
			if code == 0 {
				code = http.StatusOK
			}
			if p := recover(); p != nil {
				code = 499 // cut short (http.ErrAbortHandler)
				defer panic(p)
			}
			h.metrics.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
			h.metrics.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(rec, r)
	})
}

// countSlots adds a gauge of the heavy requests (query, aggregate,
// export) holding a slot now, out of WithMaxConcurrentQueries; those
// refused for want of one are counted with code 503 in
// rechist_http_requests_total.
func (m *metrics) countSlots(slots chan struct{}) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rechist_http_heavy_requests", Help: "Queries, aggregates and exports running now (at most the server's limit).",
		ConstLabels: prometheus.Labels{"limit": strconv.Itoa(cap(slots))}},
		func() float64 { return float64(len(slots)) }))
}
