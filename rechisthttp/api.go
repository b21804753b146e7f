package rechisthttp

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seed178a96f3/rechist"
)

// recordLine is one element of /api/records.
type recordLine struct {
	Name  string `json:"name"`
	Rows  int64  `json:"rows"`
	First int64  `json:"first"`
	Last  int64  `json:"last"`
}

func (h *Handler) serveRecords(w http.ResponseWriter, r *http.Request) error {
	p, err := h.readParams(r, false)
	if err != nil {
		return err
	}
	ctx, cancel := h.deadline(r)
	defer cancel()
	recs, err := h.db.Records(ctx, p.pattern)
	if err != nil {
		return err
	}
	out := make([]recordLine, len(recs))
	for i, rec := range recs {
		out[i] = recordLine{rec.Name, rec.Rows, rec.First.UnixMilli(), rec.Last.UnixMilli()}
	}
	return writeJSON(w, out)
}

type seriesLine struct {
	Name    string       `json:"name"`
	Buckets []bucketLine `json:"buckets"`
}

type bucketLine struct {
	Start int64   `json:"start"`
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
	Sum   float64 `json:"sum"`
	First float64 `json:"first"`
	Last  float64 `json:"last"`
}

func (h *Handler) serveAggregate(w http.ResponseWriter, r *http.Request) error {
	p, err := h.readParams(r, false)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	s := q.Get("every")
	if s == "" {
		return badRequest("every is required: the bucket width, such as 1m, 1h or 1d")
	}
	every, err := parseDuration(s)
	if err != nil {
		return badRequest("every: %v", err)
	}
	if every < time.Millisecond || every%time.Millisecond != 0 {
		return badRequest("every %q must be a whole number of milliseconds, at least 1ms", s)
	}
	if !p.start.IsZero() && !p.end.IsZero() {
		if n := p.end.Sub(p.start) / every; int64(n) > h.cfg.maxAggBuckets {
			return badRequest("every %s makes %d buckets per record between start and end; at most %d", s, n, h.cfg.maxAggBuckets)
		}
	}
	ctx, cancel := h.deadline(r)
	defer cancel()
	series, err := h.db.Aggregate(ctx, p.pattern, rechist.AggregateParams{
		Field: q.Get("field"), Every: every, Start: p.start, End: p.end})
	if err != nil {
		return err
	}
	out := make([]seriesLine, len(series))
	for i, s := range series {
		out[i] = seriesLine{Name: s.Name, Buckets: make([]bucketLine, len(s.Buckets))}
		for j, b := range s.Buckets {
			out[i].Buckets[j] = bucketLine{b.Start.UnixMilli(), b.Count, b.Min, b.Max, b.Mean, b.Sum, b.First, b.Last}
		}
	}
	return writeJSON(w, out)
}

// parseDuration reads a Go duration (90m, 36h) or whole days (7d, 1d12h).
func parseDuration(s string) (time.Duration, error) {
	var total time.Duration
	rest := s
	if days, after, ok := strings.Cut(s, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 16)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q: want 90m, 36h or 7d", s)
		}
		total, rest = time.Duration(n)*24*time.Hour, after
	}
	if rest != "" {
		v, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q: want 90m, 36h or 7d", s)
		}
		total += v
	}
	if total <= 0 {
		return 0, fmt.Errorf("bad duration %q: must be positive", s)
	}
	return total, nil
}

// serveExport streams the rows of a range as CSV or JSON Lines, straight
// from All: by record name, newest first, as the library orders them.
// It runs as long as the client reads; a client that leaves stops it.
func (h *Handler) serveExport(w http.ResponseWriter, r *http.Request) error {
	p, err := h.readParams(r, false)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	var ctype, ext string
	switch format {
	case "csv":
		ctype, ext = "text/csv; charset=utf-8", "csv"
	case "jsonl", "":
		format, ctype, ext = "jsonl", "application/jsonl", "jsonl"
	default:
		return badRequest("format %q: want csv or jsonl", format)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	started := false
	start := func() {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Disposition", `attachment; filename="rechist-export.`+ext+`"`)
		if format == "csv" {
			_ = cw.Write([]string{"record", "ts", "time", "value"})
		}
		started = true
	}
	for rec, err := range h.raw.All(r.Context(), p.pattern, rechist.QueryParams{Start: p.start, End: p.end}) {
		if err != nil {
			if started {
				return fmt.Errorf("%w: %w", errStarted, err)
			}
			return err
		}
		if !started {
			start()
		}
		if format == "csv" {
			err = cw.Write([]string{rec.Name, strconv.FormatInt(rec.StoredAt.UnixMilli(), 10),
				rec.StoredAt.Format("2006-01-02T15:04:05.000Z07:00"), string(rec.Value)})
		} else {
			// The line is ingest's input: {"name","value","at"}.
			err = enc.Encode(struct {
				Name  string          `json:"name"`
				Value json.RawMessage `json:"value"`
				At    int64           `json:"at"`
			}{rec.Name, rec.Value, rec.StoredAt.UnixMilli()})
		}
		if err != nil {
			return fmt.Errorf("%w: %w", errStarted, err)
		}
	}
	if !started {
		start()
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("%w: %w", errStarted, err)
	}
	return bw.Flush()
}

// lineError is one refused line of an ingest.
type lineError struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// serveIngest stores a JSON Lines body ({"name","value","at"} per line,
// as the CLI's ingest reads) in one transaction: every line or, when one
// is bad, none.
func (h *Handler) serveIngest(w http.ResponseWriter, r *http.Request) error {
	if !h.cfg.writable {
		return &statusError{http.StatusForbidden, "this server is read-only (rechist serve --writable allows ingest)"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.maxBodyBytes))
	if err != nil {
		return err
	}
	var recs []rechist.Record[json.RawMessage]
	var bad []lineError
	now := time.Now()
	no := 0
	for text := range bytes.SplitSeq(body, []byte("\n")) {
		no++
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		rec, err := parseLine(text, now)
		if err != nil {
			if len(bad) < 100 {
				bad = append(bad, lineError{no, err.Error()})
			}
			continue
		}
		recs = append(recs, rec)
	}
	if len(bad) > 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		return json.NewEncoder(w).Encode(struct {
			Error string      `json:"error"`
			Lines []lineError `json:"lines"`
		}{fmt.Sprintf("line %d: %s; nothing was stored", bad[0].Line, bad[0].Error), bad})
	}
	if len(recs) > 0 {
		if err := h.raw.StoreMany(r.Context(), recs); err != nil {
			return err
		}
	}
	return writeJSON(w, map[string]int{"stored": len(recs)})
}

// parseLine reads one line: "name" (a string), "value" (any JSON) and "at"
// (Unix milliseconds, or an RFC 3339 string; absent: now).
func parseLine(text []byte, now time.Time) (rechist.Record[json.RawMessage], error) {
	var rec rechist.Record[json.RawMessage]
	if !utf8.Valid(text) {
		return rec, errors.New("not valid UTF-8")
	}
	var in struct {
		Name  *string         `json:"name"`
		Value json.RawMessage `json:"value"`
		At    json.RawMessage `json:"at"`
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return rec, fmt.Errorf(`not a JSON record such as {"name":"a","value":1}: %v`, err)
	}
	if dec.More() {
		return rec, errors.New("more than one JSON value on the line")
	}
	switch {
	case in.Name == nil:
		return rec, errors.New(`"name" is missing`)
	case in.Value == nil:
		return rec, errors.New(`"value" is missing`)
	}
	rec.Name, rec.Value, rec.StoredAt = *in.Name, in.Value, now
	if len(in.At) > 0 && string(in.At) != "null" {
		var s string
		if in.At[0] == '"' {
			if err := json.Unmarshal(in.At, &s); err != nil {
				return rec, fmt.Errorf(`"at": %v`, err)
			}
		} else {
			s = string(in.At)
		}
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
			rec.StoredAt = time.UnixMilli(ms)
		} else if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			rec.StoredAt = t
		} else {
			return rec, fmt.Errorf(`"at" %s is neither Unix milliseconds nor RFC 3339`, in.At)
		}
	}
	return rec, nil
}

func (h *Handler) serveDelete(w http.ResponseWriter, r *http.Request) error {
	if !h.cfg.writable {
		return &statusError{http.StatusForbidden, "this server is read-only (rechist serve --writable allows delete)"}
	}
	p, err := h.readParams(r, true)
	if err != nil {
		return err
	}
	n, err := h.db.Delete(r.Context(), p.pattern, rechist.QueryParams{Start: p.start, End: p.end})
	if err != nil {
		return err
	}
	return writeJSON(w, map[string]int64{"deleted": n})
}
