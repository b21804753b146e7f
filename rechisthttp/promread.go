package rechisthttp

// Prometheus's remote read, POST /api/v1/read: a Prometheus server whose
// remote_read points here reads the history's series (promstore.go, the
// same Querier and series as /api/v1/query) as if they were its own. The
// protocol is Prometheus's (storage/remote/read_handler.go and codec.go,
// v0.316.0): a snappy-compressed prompb.ReadRequest in, a
// snappy-compressed prompb.ReadResponse of samples out. rechist answers
// the SAMPLES type only: every Prometheus asks for it (Prometheus 3 first
// asks for STREAMED_XOR_CHUNKS and takes SAMPLES too), and serving
// streamed chunks would take package storage/remote, whose remote-write
// clients bring the AWS, Azure and Google SDKs into the binary (+10 MB);
// the wire types come from prompb and the compression from snappy. The
// history has no external labels, so none are filtered from matchers nor
// added to series; the handler's slots stand for Prometheus's
// concurrency gate.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// Limits of a remote read request: the samples of an answer (Prometheus's
// --storage.remote.read-sample-limit default, as the engine's
// MaxSamples), the queries in one request (Prometheus sends one a
// selector), and the request's compressed and decompressed bytes.
const (
	promReadSampleLimit = 50_000_000
	promReadMaxQueries  = 100
	promReadMaxBytes    = 32 << 20
)

// registerRemoteRead mounts POST /api/v1/read behind the guard and the
// token, as the other endpoints.
func (a *promAPI) registerRemoteRead() {
	const path = "/api/v1/read"
	a.h.mux.Handle(path, a.h.count(path, a.h.guardRead(a.h.auth(&remoteRead{h: a.h, sampleLimit: promReadSampleLimit}))))
}

// remoteRead answers remote read requests over h's history; an
// unstreamed answer holds at most sampleLimit samples.
type remoteRead struct {
	h           *Handler
	sampleLimit int
}

// ServeHTTP decodes the request, negotiates the response type and
// answers its queries within the query timeout and a slot of the
// handler's heavy requests.
func (rr *remoteRead) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("remote read: method %s not allowed", r.Method))
		return
	}
	req, err := decodeReadRequest(r)
	if err != nil {
		rr.h.fail(w, r, &statusError{http.StatusBadRequest, "remote read: decoding the request (snappy-compressed prompb.ReadRequest): " + err.Error()})
		return
	}
	if n := len(req.Queries); n > promReadMaxQueries {
		rr.h.fail(w, r, &statusError{http.StatusBadRequest, fmt.Sprintf("remote read: %d queries in one request, more than the %d allowed", n, promReadMaxQueries)})
		return
	}
	if types := req.AcceptedResponseTypes; len(types) > 0 && !slices.Contains(types, prompb.ReadRequest_SAMPLES) {
		rr.h.fail(w, r, &statusError{http.StatusBadRequest, fmt.Sprintf("remote read: server does not support any of the requested response types: %v; supported: [SAMPLES]", types)})
		return
	}
	release, err := rr.h.acquire(r)
	if err != nil {
		rr.h.fail(w, r, fmt.Errorf("remote read: waiting for a slot: %w", err))
		return
	}
	defer release()
	ctx, cancel := rr.h.deadline(r)
	defer cancel()
	if err := rr.samples(ctx, w, req); err != nil {
		rr.h.fail(w, r, err)
	}
}

// decodeReadRequest reads r's body: snappy's block format of a
// prompb.ReadRequest, at most promReadMaxBytes each way.
func decodeReadRequest(r *http.Request) (*prompb.ReadRequest, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, promReadMaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > promReadMaxBytes {
		return nil, fmt.Errorf("more than %d bytes", promReadMaxBytes)
	}
	if n, err := snappy.DecodedLen(body); err != nil {
		return nil, err
	} else if n > promReadMaxBytes {
		return nil, fmt.Errorf("%d bytes decompressed, more than %d", n, promReadMaxBytes)
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, err
	}
	var req prompb.ReadRequest
	if err := req.Unmarshal(raw); err != nil {
		return nil, err
	}
	return &req, nil
}

// matcherTypes are the prompb matcher types as labels' ones.
var matcherTypes = map[prompb.LabelMatcher_Type]labels.MatchType{
	prompb.LabelMatcher_EQ: labels.MatchEqual, prompb.LabelMatcher_NEQ: labels.MatchNotEqual,
	prompb.LabelMatcher_RE: labels.MatchRegexp, prompb.LabelMatcher_NRE: labels.MatchNotRegexp,
}

// selectQuery selects the series of query q of a request.
func (rr *remoteRead) selectQuery(ctx context.Context, q *prompb.Query, sorted bool) (storage.SeriesSet, error) {
	ms := make([]*labels.Matcher, len(q.Matchers))
	for i, m := range q.Matchers {
		typ, ok := matcherTypes[m.Type]
		if !ok {
			return nil, &statusError{http.StatusBadRequest, fmt.Sprintf("remote read: invalid matcher type %d", m.Type)}
		}
		var err error
		if ms[i], err = labels.NewMatcher(typ, m.Name, m.Value); err != nil {
			return nil, &statusError{http.StatusBadRequest, "remote read: " + err.Error()}
		}
	}
	querier, _ := promStorage{rr.h}.Querier(q.StartTimestampMs, q.EndTimestampMs)
	var hints *storage.SelectHints
	if q.Hints != nil {
		hints = &storage.SelectHints{Start: q.Hints.StartMs, End: q.Hints.EndMs, Step: q.Hints.StepMs, Func: q.Hints.Func,
			Grouping: q.Hints.Grouping, By: q.Hints.By, Range: q.Hints.RangeMs}
	}
	return querier.Select(ctx, sorted, hints, ms...), nil
}

// samples answers the SAMPLES type: one ReadResponse, every query's
// series with their samples, at most sampleLimit samples in all.
func (rr *remoteRead) samples(ctx context.Context, w http.ResponseWriter, req *prompb.ReadRequest) error {
	resp := prompb.ReadResponse{Results: make([]*prompb.QueryResult, len(req.Queries))}
	left := rr.sampleLimit
	for i, q := range req.Queries {
		set, err := rr.selectQuery(ctx, q, false)
		if err != nil {
			return err
		}
		res := &prompb.QueryResult{}
		for set.Next() {
			s := set.At()
			ts := &prompb.TimeSeries{}
			s.Labels().Range(func(l labels.Label) { ts.Labels = append(ts.Labels, prompb.Label{Name: l.Name, Value: l.Value}) })
			it := s.Iterator(nil)
			for it.Next() == chunkenc.ValFloat {
				if left--; left < 0 {
					return &statusError{http.StatusBadRequest, fmt.Sprintf("remote read: exceeded sample limit (%d samples in all the request's queries)", rr.sampleLimit)}
				}
				t, v := it.At()
				ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: t, Value: v})
			}
			if err := it.Err(); err != nil {
				return fmt.Errorf("remote read: query %d: %w", i, err)
			}
			res.Timeseries = append(res.Timeseries, ts)
		}
		if err := set.Err(); err != nil {
			return fmt.Errorf("remote read: query %d: %w", i, err)
		}
		resp.Results[i] = res
	}
	raw, err := resp.Marshal()
	if err != nil {
		return fmt.Errorf("remote read: encoding the response: %w", err)
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Header().Set("Content-Encoding", "snappy")
	if _, err := w.Write(snappy.Encode(nil, raw)); err != nil {
		return fmt.Errorf("%w: remote read: writing the response: %w", errStarted, err)
	}
	return nil
}
