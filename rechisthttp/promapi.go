package rechisthttp

// A Prometheus-compatible read API under /api/v1/, served by Prometheus's
// own PromQL engine over the history (promstore.go): what Grafana's
// built-in Prometheus data source calls. The parameters, the JSON and the
// errors follow Prometheus's web/api/v1/api.go (v0.316.0): parseTime and
// parseDuration, returnAPIError's error types and their statuses, and the
// {"status","data","errorType","error","warnings"} envelope; results are
// marshalled by promql's own types (Vector, Matrix, Scalar, String).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

// promMaxPoints is how many points a range query may ask per series, as
// Prometheus refuses more than 11,000.
const promMaxPoints = 11000

// promAPI answers /api/v1/.
type promAPI struct {
	h      *Handler
	engine *promql.Engine
	parser parser.Parser
}

// defaultMaxSamples is WithMaxSamples' default: about 250 MB of
// samples in memory at once.
const defaultMaxSamples = 5_000_000

// WithMaxSamples bounds the samples one PromQL query of /api/v1/ may
// read from the history, and hold in memory at once (the engine's
// MaxSamples): past it the query fails with Prometheus's cost-limit error
// (422) rather than exhausting memory. Each number of a row is a sample
// (a row of {"celsius":1,"humidity":2} is two). Default 5,000,000; n <= 0
// keeps it.
func WithMaxSamples(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxSamples = n
		}
	}
}

func newPromAPI(h *Handler) *promAPI {
	p := parser.NewParser(parser.Options{})
	return &promAPI{h: h, parser: p, engine: promql.NewEngine(promql.EngineOpts{
		MaxSamples:           h.cfg.maxSamples,
		Timeout:              h.cfg.queryTimeout,
		LookbackDelta:        5 * time.Minute,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		Parser:               p,
	})}
}

// register mounts the endpoints on h, each for GET and for POST
// (form-encoded, as Prometheus and Grafana send them): reads, so the
// guard checks the Host and the token, not a write's origin and type.
func (a *promAPI) register() {
	for path, f := range map[string]func(*http.Request) (any, annotations.Annotations, *promError){
		"/api/v1/query":               a.query,
		"/api/v1/query_range":         a.queryRange,
		"/api/v1/labels":              a.labelNames,
		"/api/v1/label/{name}/values": a.labelValues,
		"/api/v1/series":              a.series,
		"/api/v1/metadata":            a.metadata,
		"/api/v1/status/buildinfo":    a.buildInfo,
		"/api/v1/format_query":        a.formatQuery,
		"/api/v1/parse_query":         a.parseQuery,
		"/api/v1/status/runtimeinfo":  a.runtimeInfo,
		"/api/v1/query_exemplars":     a.exemplars,
		"/api/v1/rules":               a.rules,
	} {
		a.h.mux.Handle(path, a.h.count(path, a.h.guardRead(a.h.auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, POST")
				promRespond(w, nil, nil, &promError{promBadData, fmt.Errorf("method %s not allowed", r.Method)})
				return
			}
			if err := r.ParseForm(); err != nil {
				promRespond(w, nil, nil, &promError{promBadData, fmt.Errorf("error parsing form values: %w", err)})
				return
			}
			data, warnings, perr := f(r)
			promRespond(w, data, warnings, perr)
		})))))
	}
	a.registerRemoteRead()
}

// The error types of web/api/v1 and the statuses it answers them with.
type promErrorType struct {
	name   string
	status int
}

var (
	promTimeout  = promErrorType{"timeout", http.StatusServiceUnavailable}
	promCanceled = promErrorType{"canceled", 499}
	promExec     = promErrorType{"execution", http.StatusUnprocessableEntity}
	promBadData  = promErrorType{"bad_data", http.StatusBadRequest}
	promInternal = promErrorType{"internal", http.StatusInternalServerError}
	promLimit    = promErrorType{"cost_limit", http.StatusUnprocessableEntity}
)

type promError struct {
	typ promErrorType
	err error
}

// promRespond writes the envelope.
func promRespond(w http.ResponseWriter, data any, warnings annotations.Annotations, perr *promError) {
	out := struct {
		Status    string   `json:"status"`
		Data      any      `json:"data,omitempty"`
		ErrorType string   `json:"errorType,omitempty"`
		Error     string   `json:"error,omitempty"`
		Warnings  []string `json:"warnings,omitempty"`
		Infos     []string `json:"infos,omitempty"`
	}{Status: "success", Data: data}
	warns, infos := warnings.AsStrings("", 10, 10)
	out.Warnings, out.Infos = warns, infos
	code := http.StatusOK
	if perr != nil {
		out.Status, out.Data, out.ErrorType, out.Error = "error", nil, perr.typ.name, perr.err.Error()
		code = perr.typ.status
	}
	b, err := json.Marshal(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}

// execError maps an engine error to its type, as returnAPIError does.
func execError(err error) *promError {
	var eqc promql.ErrQueryCanceled
	var eqt promql.ErrQueryTimeout
	var es promql.ErrStorage
	var etms promql.ErrTooManySeries
	var etmss promql.ErrTooManySamplesRead
	switch {
	case errors.As(err, &eqc):
		return &promError{promCanceled, err}
	case errors.As(err, &eqt):
		return &promError{promTimeout, err}
	case errors.As(err, &etms), errors.As(err, &etmss):
		return &promError{promLimit, err}
	case errors.As(err, &es):
		return &promError{promInternal, err}
	case errors.Is(err, context.Canceled):
		return &promError{promCanceled, err}
	}
	return &promError{promExec, err}
}

func invalidParam(err error, name string) *promError {
	return &promError{promBadData, fmt.Errorf("invalid parameter %q: %w", name, err)}
}

// promTime reads a time as Prometheus does: Unix seconds, with a
// fraction, or RFC 3339.
func promTime(s string) (time.Time, error) {
	if t, err := strconv.ParseFloat(s, 64); err == nil {
		sec, ns := math.Modf(t)
		ns = math.Round(ns*1000) / 1000
		return time.Unix(int64(sec), int64(ns*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

func promTimeParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.FormValue(name)
	if v == "" {
		return def, nil
	}
	t, err := promTime(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time value for '%s': %w", name, err)
	}
	return t, nil
}

// promDuration reads a duration as Prometheus does: seconds, with a
// fraction, or a Prometheus duration (5m, 1h30m).
func promDuration(s string) (time.Duration, error) {
	if d, err := strconv.ParseFloat(s, 64); err == nil {
		ts := d * float64(time.Second)
		if math.IsNaN(ts) || ts >= float64(math.MaxInt64) || ts < float64(math.MinInt64) {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(ts), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

// queryContext is the request's context within its timeout parameter and
// the handler's query timeout.
func (a *promAPI) queryContext(r *http.Request) (context.Context, context.CancelFunc, *promError) {
	timeout := a.h.cfg.queryTimeout
	if s := r.FormValue("timeout"); s != "" {
		d, err := promDuration(s)
		if err != nil {
			return nil, nil, invalidParam(err, "timeout")
		}
		if d <= 0 {
			return nil, nil, &promError{promBadData, fmt.Errorf("invalid parameter %q: timeout must be positive, got %s", "timeout", d)}
		}
		timeout = min(timeout, d)
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	return ctx, cancel, nil
}

// queryResult is data of query and query_range.
type queryResult struct {
	ResultType parser.ValueType `json:"resultType"`
	Result     parser.Value     `json:"result"`
}

func (a *promAPI) query(r *http.Request) (any, annotations.Annotations, *promError) {
	ts, err := promTimeParam(r, "time", time.Now())
	if err != nil {
		return nil, nil, invalidParam(err, "time")
	}
	return a.run(r, func(ctx context.Context) (promql.Query, error) {
		return a.engine.NewInstantQuery(ctx, promStorage{a.h}, nil, r.FormValue("query"), ts)
	})
}

// run builds a query with newQuery within the request's timeout and a
// slot of the handler's heavy requests, and runs it.
func (a *promAPI) run(r *http.Request, newQuery func(context.Context) (promql.Query, error)) (any, annotations.Annotations, *promError) {
	ctx, cancel, perr := a.queryContext(r)
	if perr != nil {
		return nil, nil, perr
	}
	defer cancel()
	release, err := a.h.acquire(r)
	if err != nil {
		return nil, nil, &promError{promTimeout, err}
	}
	defer release()
	q, err := newQuery(ctx)
	if err != nil {
		return nil, nil, &promError{promBadData, err}
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, res.Warnings, execError(res.Err)
	}
	return queryResult{res.Value.Type(), res.Value}, res.Warnings, nil
}

func (a *promAPI) queryRange(r *http.Request) (any, annotations.Annotations, *promError) {
	start, err := promTime(r.FormValue("start"))
	if err != nil {
		return nil, nil, invalidParam(err, "start")
	}
	end, err := promTime(r.FormValue("end"))
	if err != nil {
		return nil, nil, invalidParam(err, "end")
	}
	if end.Before(start) {
		return nil, nil, invalidParam(errors.New("end timestamp must not be before start time"), "end")
	}
	step, err := promDuration(r.FormValue("step"))
	if err != nil {
		return nil, nil, invalidParam(err, "step")
	}
	if step <= 0 {
		return nil, nil, invalidParam(errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"), "step")
	}
	if end.Sub(start)/step > promMaxPoints {
		return nil, nil, &promError{promBadData, errors.New("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")}
	}
	return a.run(r, func(ctx context.Context) (promql.Query, error) {
		return a.engine.NewRangeQuery(ctx, promStorage{a.h}, nil, r.FormValue("query"), start, end, step)
	})
}

// bounds reads start and end of the metadata endpoints (default: all of
// time, as Prometheus's MinTime and MaxTime).
func (a *promAPI) bounds(r *http.Request) (int64, int64, *promError) {
	start, err := promTimeParam(r, "start", time.UnixMilli(math.MinInt64/2))
	if err != nil {
		return 0, 0, invalidParam(err, "start")
	}
	end, err := promTimeParam(r, "end", time.UnixMilli(math.MaxInt64/2))
	if err != nil {
		return 0, 0, invalidParam(err, "end")
	}
	return start.UnixMilli(), end.UnixMilli(), nil
}

// matchers reads match[]: selectors, each with a matcher that does not
// match the empty string.
func (a *promAPI) matchers(r *http.Request) ([][]*labels.Matcher, *promError) {
	sets, err := a.parser.ParseMetricSelectors(r.Form["match[]"])
	if err != nil {
		return nil, invalidParam(err, "match[]")
	}
outer:
	for _, ms := range sets {
		for _, m := range ms {
			if m != nil && !m.Matches("") {
				continue outer
			}
		}
		return nil, &promError{promBadData, errors.New("match[] must contain at least one non-empty matcher")}
	}
	return sets, nil
}

// labelNames lists __name__, field and record, or, given match[], the
// label names of the series the selectors match within start and end (a
// bare number's series has no field), as Prometheus's labelNames does.
func (a *promAPI) labelNames(r *http.Request) (any, annotations.Annotations, *promError) {
	l, perr := a.listing(r)
	if perr != nil {
		return nil, nil, perr
	}
	if len(l.sets) == 0 {
		names, _, _ := l.q.LabelNames(r.Context(), nil)
		return truncated(names, l.limit)
	}
	seen := map[string]bool{}
	if perr := l.eachSeries(r.Context(), func(ls labels.Labels) { ls.Range(func(x labels.Label) { seen[x.Name] = true }) }); perr != nil {
		return nil, nil, perr
	}
	names := slices.Sorted(maps.Keys(seen))
	if names == nil {
		names = []string{}
	}
	return truncated(names, l.limit)
}

// listing is what the listing endpoints (labels, label values, series)
// take: limit, the querier of start and end, and the match[] selectors.
type listing struct {
	limit      int
	start, end int64
	q          storage.Querier
	sets       [][]*labels.Matcher
}

// listing reads r's listing parameters.
func (a *promAPI) listing(r *http.Request) (listing, *promError) {
	limit, perr := limitParam(r)
	if perr != nil {
		return listing{}, perr
	}
	start, end, perr := a.bounds(r)
	if perr != nil {
		return listing{}, perr
	}
	sets, perr := a.matchers(r)
	if perr != nil {
		return listing{}, perr
	}
	q, _ := promStorage{a.h}.Querier(start, end)
	return listing{limit: limit, start: start, end: end, q: q, sets: sets}, nil
}

// eachSeries calls fn with the labels of each series a selector of l
// matches (a series two selectors match, twice).
func (l listing) eachSeries(ctx context.Context, fn func(labels.Labels)) *promError {
	for _, ms := range l.sets {
		set := l.q.Select(ctx, true, &storage.SelectHints{Start: l.start, End: l.end, Func: "series"}, ms...)
		for set.Next() {
			fn(set.At().Labels())
		}
		if err := set.Err(); err != nil {
			return execError(err)
		}
	}
	return nil
}

// limitParam reads the limit parameter of the metadata endpoints: 0 (none)
// when absent, else a non-negative integer.
func limitParam(r *http.Request) (int, *promError) {
	s := r.FormValue("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, &promError{promBadData, errors.New("limit must be a non-negative integer")}
	}
	return n, nil
}

// truncated keeps the first limit (0: all) of out, with Prometheus's
// warning when it leaves some out.
func truncated[T any](out []T, limit int) (any, annotations.Annotations, *promError) {
	if limit > 0 && len(out) > limit {
		var warn annotations.Annotations
		warn.Add(errors.New("results truncated due to limit"))
		return out[:limit], warn, nil
	}
	return out, nil, nil
}

func (a *promAPI) labelValues(r *http.Request) (any, annotations.Annotations, *promError) {
	name := r.PathValue("name")
	if !model.UTF8Validation.IsValidLabelName(name) {
		return nil, nil, &promError{promBadData, fmt.Errorf("invalid label name: %q", name)}
	}
	l, perr := a.listing(r)
	if perr != nil {
		return nil, nil, perr
	}
	sets := l.sets
	if len(sets) == 0 {
		sets = [][]*labels.Matcher{nil}
	}
	out := []string{}
	seen := map[string]bool{}
	for _, ms := range sets {
		vals, _, err := l.q.LabelValues(r.Context(), name, nil, ms...)
		if err != nil {
			return nil, nil, execError(err)
		}
		for _, v := range vals {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	return truncated(out, l.limit)
}

func (a *promAPI) series(r *http.Request) (any, annotations.Annotations, *promError) {
	if len(r.Form["match[]"]) == 0 {
		return nil, nil, &promError{promBadData, errors.New("no match[] parameter provided")}
	}
	l, perr := a.listing(r)
	if perr != nil {
		return nil, nil, perr
	}
	out := []labels.Labels{}
	seen := map[uint64][]labels.Labels{} // by hash, each hash's labels
	perr = l.eachSeries(r.Context(), func(ls labels.Labels) {
		h := ls.Hash()
		if !slices.ContainsFunc(seen[h], func(o labels.Labels) bool { return labels.Equal(o, ls) }) {
			seen[h] = append(seen[h], ls)
			out = append(out, ls)
		}
	})
	if perr != nil {
		return nil, nil, perr
	}
	slices.SortFunc(out, labels.Compare)
	return truncated(out, l.limit)
}

// rules: the history has no recording or alerting rules (Grafana asks,
// and takes an empty list).
func (a *promAPI) rules(r *http.Request) (any, annotations.Annotations, *promError) {
	return map[string]any{"groups": []any{}}, nil, nil
}

// metadata has no metric metadata to give: every series is a gauge of a
// stored value, said nowhere else.
func (a *promAPI) metadata(r *http.Request) (any, annotations.Annotations, *promError) {
	return map[string]any{}, nil, nil
}

func (a *promAPI) buildInfo(r *http.Request) (any, annotations.Annotations, *promError) {
	return map[string]string{"version": "2.53.0", "revision": "rechist", "branch": "", "buildUser": "", "buildDate": "", "goVersion": runtime.Version()}, nil, nil
}

// exemplars checks the query and answers none: the history keeps no
// exemplars (Grafana's Explore asks).
func (a *promAPI) exemplars(r *http.Request) (any, annotations.Annotations, *promError) {
	if _, err := a.parser.ParseExpr(r.FormValue("query")); err != nil {
		return nil, nil, invalidParam(err, "query")
	}
	return []any{}, nil, nil
}

func (a *promAPI) runtimeInfo(r *http.Request) (any, annotations.Annotations, *promError) {
	return map[string]any{"storageRetention": "as the history's retention policies keep"}, nil, nil
}

func (a *promAPI) formatQuery(r *http.Request) (any, annotations.Annotations, *promError) {
	expr, err := a.parser.ParseExpr(r.FormValue("query"))
	if err != nil {
		return nil, nil, invalidParam(err, "query")
	}
	return expr.Pretty(0), nil, nil
}

func (a *promAPI) parseQuery(r *http.Request) (any, annotations.Annotations, *promError) {
	expr, err := a.parser.ParseExpr(r.FormValue("query"))
	if err != nil {
		return nil, nil, invalidParam(err, "query")
	}
	return expr.String(), nil, nil
}
