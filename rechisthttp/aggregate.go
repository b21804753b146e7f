package rechisthttp

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/seed178a96f3/rechist"
)

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
