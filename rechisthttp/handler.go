package rechisthttp

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/internal/timeparse"
)

// Option configures [NewHandler].
type Option func(*config)

type config struct {
	token        string
	writable     bool
	topics       bool
	queryTimeout time.Duration
	maxBodyBytes int64
	pollInterval time.Duration
	heartbeat    time.Duration
	// writeTimeout is how long one write to a client may stay blocked (its
	// socket full) before the answer is cut or the stream subscriber
	// dropped: streamWriteTimeout unless WithWriteTimeout says otherwise.
	writeTimeout  time.Duration
	streamBuffer  int
	logger        *slog.Logger
	windowRows    int
	windowBytes   int
	maxAggBuckets int64
	// maxQueries bounds the heavy requests in progress (limits.go);
	// aggChunk is how many buckets one aggregate query reads at most
	// (aggregate.go).
	maxQueries int
	aggChunk   int64
	// allowedHosts are the names besides the loopback ones a request's
	// Host may be (WithAllowedHosts; guard.go).
	allowedHosts []hostPort
	// metricsRecords is how many records and sync sources get series of
	// their own in /metrics (WithMetricsRecords; metrics_data.go).
	metricsRecords int
	// maxSamples is how many samples one PromQL query may read
	// (WithMaxSamples; promapi.go).
	maxSamples int
}

// WithToken makes every /api/ and /metrics request carry token, as
// "Authorization: Bearer TOKEN" or, where a browser cannot set a header
// (EventSource, download links), as the query parameter token=TOKEN. It is
// compared in constant time and never logged. An empty token turns the
// check off.
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// Writable allows POST /api/ingest and DELETE /api/records; without it
// they answer 403.
func Writable() Option { return func(c *config) { c.writable = true } }

// TopicPatterns says the DB was opened with [rechist.WithTopicPatterns]:
// the default pattern is then "#" instead of "*".
func TopicPatterns() Option { return func(c *config) { c.topics = true } }

// WithQueryTimeout bounds the work of each request (default 1 minute):
// the time it spends querying the database and preparing its answer,
// not the time it waits for a slot ([WithMaxConcurrentQueries]) nor the
// time it is blocked writing to a client that reads slowly. Past it, a
// request that has not answered yet answers 503; one whose answer has
// begun is cut. The stream and the export, which run as long as their
// client reads, are not bounded by it; a client that stops reading is cut
// by [WithWriteTimeout].
func WithQueryTimeout(d time.Duration) Option { return func(c *config) { c.queryTimeout = d } }

// WithMaxBodyBytes limits a request's body (default 16 MiB); a larger one
// is refused with 413 and nothing is stored.
func WithMaxBodyBytes(n int64) Option { return func(c *config) { c.maxBodyBytes = n } }

// WithPollInterval is how often the stream asks the database for new rows
// (default 250 ms).
func WithPollInterval(d time.Duration) Option { return func(c *config) { c.pollInterval = d } }

// WithHeartbeat is how often an idle stream sends a comment, so proxies
// and the client see it alive (default 15 s).
func WithHeartbeat(d time.Duration) Option { return func(c *config) { c.heartbeat = d } }

// WithLogger logs failed requests (500s) and dropped subscribers; silent
// by default.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Handler serves the API, the stream, the metrics and the dashboard of one
// DB; see the package doc. It is safe for concurrent use.
type Handler struct {
	db      *rechist.DB
	raw     *rechist.Repo[json.RawMessage]
	core    *core.DB // db's core: Values, which reads samples without a Record a row
	cfg     config
	mux     *http.ServeMux
	metrics *metrics
	streams streams
	slots   chan struct{} // heavy requests in progress (limits.go)
	routes  map[string]map[string]func(http.ResponseWriter, *http.Request) error
	aimx    aimxHub // wakes AimX subscriptions (aimx_sub.go)
}

// NewHandler returns the handler for db. Mount it under any prefix with
// [http.StripPrefix]. Closing db makes every request answer 503 (and ends
// the streams); the handler holds nothing else to close.
func NewHandler(db *rechist.DB, opts ...Option) *Handler {
	cfg := config{
		queryTimeout:  time.Minute,
		maxBodyBytes:  16 << 20,
		pollInterval:  250 * time.Millisecond,
		heartbeat:     15 * time.Second,
		writeTimeout:  streamWriteTimeout,
		streamBuffer:  1024,
		logger:        slog.New(slog.DiscardHandler),
		windowRows:    10_000,
		windowBytes:   16 << 20,
		maxAggBuckets: 1_000_000,
		maxQueries:    defaultMaxQueries(),
		aggChunk:      10_000,

		metricsRecords: defaultMetricsRecords,
		maxSamples:     defaultMaxSamples,
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	h := &Handler{db: db, raw: rechist.NewRepo[json.RawMessage](db), core: core.Of(db), cfg: cfg, mux: http.NewServeMux()}
	h.slots = make(chan struct{}, cfg.maxQueries)
	h.metrics = newMetrics(db)
	h.metrics.countSlots(h.slots)
	h.metrics.countData(db, cfg.metricsRecords, cfg.logger)
	h.streams.init()
	h.route("/api/query", http.MethodGet, h.serveQuery)
	h.route("/api/records", http.MethodGet, h.serveRecords)
	h.route("/api/records", http.MethodDelete, h.serveDelete)
	h.route("/api/aggregate", http.MethodGet, h.serveAggregate)
	h.route("/api/export", http.MethodGet, h.serveExport)
	h.route("/api/stream", http.MethodGet, h.serveStream)
	h.route("/api/ingest", http.MethodPost, h.serveIngest)
	h.route("/api/sync", http.MethodGet, h.serveSyncStatus)
	h.route("/api/sync", http.MethodPost, h.serveSyncPush)
	newPromAPI(h).register()
	h.mux.Handle("/aimx", h.count("/aimx", h.guard(http.HandlerFunc(h.serveAIMX))))
	h.mountMCP()
	h.mux.Handle("/metrics", h.count("/metrics", h.guard(h.auth(promhttp.HandlerFor(h.metrics.reg, promhttp.HandlerOpts{})))))
	h.mux.Handle("/healthz", h.count("/healthz", h.guard(http.HandlerFunc(h.serveHealth))))
	h.mux.Handle("/", h.count("/", h.guard(http.HandlerFunc(h.servePage))))
	return h
}

// ServeHTTP serves one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// routes collects each path's methods, so a wrong method is a JSON 405.
func (h *Handler) route(path, method string, f func(http.ResponseWriter, *http.Request) error) {
	if h.routes == nil {
		h.routes = map[string]map[string]func(http.ResponseWriter, *http.Request) error{}
	}
	ms, ok := h.routes[path]
	if !ok {
		ms = map[string]func(http.ResponseWriter, *http.Request) error{}
		h.routes[path] = ms
		h.mux.Handle(path, h.count(path, h.guard(h.auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f, ok := ms[r.Method]
			if !ok && r.Method == http.MethodHead {
				f, ok = ms[http.MethodGet]
			}
			if !ok {
				allow := make([]string, 0, len(ms))
				for m := range ms {
					allow = append(allow, m)
				}
				w.Header().Set("Allow", strings.Join(allow, ", "))
				writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed", r.Method))
				return
			}
			if err := f(w, r); err != nil {
				h.fail(w, r, err)
			}
		})))))
	}
	ms[method] = f
}

// auth checks the token, in constant time.
func (h *Handler) auth(next http.Handler) http.Handler {
	if h.cfg.token == "" {
		return next
	}
	want := []byte(h.cfg.token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := ""
		if a := r.Header.Get("Authorization"); a != "" {
			scheme, tok, _ := strings.Cut(a, " ")
			if strings.EqualFold(scheme, "Bearer") {
				got = strings.TrimSpace(tok)
			}
		} else {
			got = r.URL.Query().Get("token")
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="rechist"`)
			writeError(w, http.StatusUnauthorized, "a valid token is required (Authorization: Bearer TOKEN, or ?token=TOKEN)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// statusError is an error with its HTTP status.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &statusError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// errStarted marks an error after the answer began: the connection is cut
// so the client sees a broken answer, never a short one that looks whole.
var errStarted = errors.New("answer already started")

// fail answers err with its status.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errStarted) {
		level := slog.LevelWarn
		if r.Context().Err() != nil {
			level = slog.LevelDebug // the client went away: nothing for the operator to do
		}
		h.cfg.logger.Log(r.Context(), level, "rechisthttp: answer cut short", slog.String("path", r.URL.Path), slog.Any("error", err))
		panic(http.ErrAbortHandler)
	}
	code, msg := statusOf(r, err)
	if code == http.StatusInternalServerError {
		h.cfg.logger.Error("rechisthttp: request failed", slog.String("path", r.URL.Path), slog.Any("error", err))
	}
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeError(w, code, msg)
}

// statusOf maps an error to its status and message.
func statusOf(r *http.Request, err error) (int, string) {
	var se *statusError
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &se):
		return se.code, se.msg
	case errors.As(err, &mb):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes", mb.Limit)
	case errors.Is(err, rechist.ErrInvalidArgument):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, rechist.ErrNotFound):
		return http.StatusNotFound, err.Error()
	case errors.Is(err, rechist.ErrReadOnly):
		return http.StatusForbidden, err.Error()
	case errors.Is(err, rechist.ErrConflict):
		return http.StatusConflict, err.Error()
	case errors.Is(err, rechist.ErrClosed), errors.Is(err, rechist.ErrBusy):
		return http.StatusServiceUnavailable, err.Error()
	case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
		return http.StatusServiceUnavailable, "the query took longer than the server allows: " + err.Error()
	}
	return http.StatusInternalServerError, err.Error()
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// writeJSON answers v with 200.
func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// deadline is ctx bounded by the query timeout.
func (h *Handler) deadline(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), h.cfg.queryTimeout)
}

// serveHealth says whether the database answers.
func (h *Handler) serveHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := h.deadline(r)
	defer cancel()
	if _, err := h.db.LastID(ctx); err != nil {
		code, msg := statusOf(r, err)
		if code < 500 {
			code = http.StatusServiceUnavailable
		}
		if code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		writeError(w, code, msg)
		return
	}
	_ = writeJSON(w, map[string]string{"status": "ok"})
}

// params reads the query parameters every read endpoint shares.
type params struct {
	pattern    string
	start, end time.Time
}

func (h *Handler) readParams(r *http.Request, requirePattern bool) (params, error) {
	q := r.URL.Query()
	var p params
	p.pattern = q.Get("pattern")
	if p.pattern == "" {
		if requirePattern {
			return p, badRequest("pattern is required")
		}
		p.pattern = "*"
		if h.cfg.topics {
			p.pattern = "#"
		}
	}
	var err error
	if p.start, err = msParam(q.Get("start"), "start"); err != nil {
		return p, err
	}
	if p.end, err = msParam(q.Get("end"), "end"); err != nil {
		return p, err
	}
	if !p.start.IsZero() && !p.end.IsZero() && p.start.After(p.end) {
		return p, badRequest("start %d is after end %d", p.start.UnixMilli(), p.end.UnixMilli())
	}
	return p, nil
}

// span is the part of a record's rows (first to last, in Unix ms) within
// the request's range; ok is false when none of them is.
func (p params) span(info rechist.RecordInfo) (lo, hi int64, ok bool) {
	lo, hi = info.First.UnixMilli(), info.Last.UnixMilli()
	if !p.start.IsZero() {
		lo = max(lo, p.start.UnixMilli())
	}
	if !p.end.IsZero() {
		hi = min(hi, p.end.UnixMilli())
	}
	return lo, hi, lo <= hi
}

// msParam reads a point in time as the command line does (timeparse.Time:
// Unix milliseconds, refusing a number that looks like seconds, RFC 3339,
// or a local date and time in the server's zone); "" is the zero time
// (unbounded). A time before 1970 is refused, as the store refuses it.
func msParam(s, name string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := timeparse.Time(s)
	if err != nil {
		return time.Time{}, badRequest("%s: %v", name, err)
	}
	if t.UnixMilli() < 0 {
		return time.Time{}, badRequest("%s %q is before the Unix epoch (1970)", name, s)
	}
	return t, nil
}
