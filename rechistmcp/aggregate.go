package rechistmcp

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/seed178a96f3/rechist"
)

type aggregateIn struct {
	Pattern string `json:"pattern"`
	Field   string `json:"field"`
	Every   string `json:"every"`
	Start   string `json:"start"`
	End     string `json:"end"`
	Limit   int    `json:"limit"`
	TZ      string `json:"tz"`
}

type bucketOut struct {
	Start   string   `json:"start" jsonschema:"the bucket's first instant (RFC 3339)"`
	End     string   `json:"end" jsonschema:"the next bucket's first instant: the bucket holds rows before it (RFC 3339)"`
	Partial bool     `json:"partial,omitempty" jsonschema:"true when the bucket is not wholly inside the range (it starts before start, ends after end, or is still filling): it summarises only part of its span"`
	Count   int64    `json:"count" jsonschema:"numbers in the bucket"`
	Min     float64  `json:"min"`
	Mean    float64  `json:"mean"`
	Max     float64  `json:"max"`
	First   float64  `json:"first" jsonschema:"the bucket's oldest value"`
	Last    float64  `json:"last" jsonschema:"the bucket's newest value"`
	Sum     *float64 `json:"sum,omitempty" jsonschema:"exact sum (absent when beyond float64's range)"`
}

type seriesOut struct {
	Name    string      `json:"name"`
	Tier    string      `json:"rollup_tier,omitempty" jsonschema:"width of the rollup tier that served its whole buckets (the rest from raw rows); absent when raw rows alone answered"`
	Buckets []bucketOut `json:"buckets" jsonschema:"ascending by start; empty buckets are left out"`
	Total   int         `json:"buckets_total" jsonschema:"how many buckets the record has in the range"`
}

type aggregateOut struct {
	Field     string      `json:"field"`
	Every     string      `json:"every"`
	Zone      string      `json:"zone" jsonschema:"the zone buckets are aligned to and times printed in"`
	Start     string      `json:"start,omitempty"`
	End       string      `json:"end,omitempty"`
	Series    []seriesOut `json:"series" jsonschema:"one per record with numbers in range, by name; the first limit of them"`
	SeriesAll int         `json:"series_total" jsonschema:"how many records have numbers in range"`
	Total     int         `json:"buckets_total" jsonschema:"buckets over all series"`
	Returned  int         `json:"buckets_returned" jsonschema:"buckets shown, at most limit"`
	Truncated bool        `json:"truncated" jsonschema:"true when series or buckets are left out"`
	Note      string      `json:"note,omitempty"`
}

func aggregateTool(c config) *mcp.Tool {
	return &mcp.Tool{
		Name: "aggregate",
		Description: "Summarise a numeric field of the records matching a pattern in fixed time buckets, computed in the database: " +
			"count, min, mean, max, first and last value per bucket (hourly means over a week, daily min/max). " +
			"Buckets align to the Unix epoch in UTC (so 7d buckets start on a Thursday), or, with tz (default: the server's zone, which need not be UTC), " +
			"to the zone's wall clock: 1d at local midnight, 1h at whole local hours, longer buckets at multiples of their width from the epoch in local time. " +
			"Each bucket has start and end; partial marks one not wholly inside the range. At most limit buckets in all: past it, the first series by name, " +
			"sharing limit, each with its newest buckets. Served from rollup tiers where raw rows have expired. " +
			"Use latest_values first to see which field holds the number.",
		Annotations: readOnly("Aggregate in time buckets"),
		InputSchema: schema(join(patternProp(c, true),
			prop("field", "string", `Dot-separated path of object keys to the number in each value ("celsius", "reading.value"); "" or absent: the value itself is the number. Rows without a number there are left out.`),
			prop("every", "string", "Bucket width: a duration such as 15m, 1h, 1d, 7d.", `"minLength":1`),
			rangeProps(),
			limitProp("buckets in all", 500, c.maxBuckets),
			tzProp()), "pattern", "every"),
	}
}

func (t *tools) aggregate(ctx context.Context, in aggregateIn) (aggregateOut, error) {
	pattern, err := t.cfg.pattern(in.Pattern)
	if err != nil {
		return aggregateOut{}, err
	}
	every, err := durationArg("every", in.Every)
	if err != nil {
		return aggregateOut{}, err
	}
	if every < time.Millisecond {
		return aggregateOut{}, badf("every must be at least 1ms, got %v", every)
	}
	limit, err := limitArg("limit", in.Limit, 500, t.cfg.maxBuckets)
	if err != nil {
		return aggregateOut{}, err
	}
	loc, err := t.cfg.location(in.TZ)
	if err != nil {
		return aggregateOut{}, err
	}
	now := t.cfg.now()
	start, end, err := timeRange(in.Start, in.End, now, loc)
	if err != nil {
		return aggregateOut{}, err
	}
	// The database computes every bucket before any is cut: bound that
	// work by the records' spans within the range.
	recs, err := t.db.Records(ctx, pattern)
	if err != nil {
		return aggregateOut{}, err
	}
	work := 0.0
	for _, r := range recs {
		from, to := r.First, r.Last
		if !start.IsZero() && start.After(from) {
			from = start
		}
		if !end.IsZero() && end.Before(to) {
			to = end
		}
		if !to.Before(from) {
			work += math.Floor(float64(to.Sub(from))/float64(every)) + 1
		}
	}
	if maxWork := float64(100 * t.cfg.maxBuckets); work > maxWork {
		return aggregateOut{}, badf("every %s over this range and %d records makes up to %.0f buckets, more than %.0f: use a wider every, a narrower range or pattern",
			ageText(every), len(recs), work, maxWork)
	}
	p := rechist.AggregateParams{Field: in.Field, Every: every, Start: start, End: end}
	if loc != time.UTC {
		p.Location = loc
	}
	series, err := t.db.Aggregate(ctx, pattern, p)
	if err != nil {
		return aggregateOut{}, err
	}
	out := aggregateOut{Field: in.Field, Every: ageText(every), Zone: loc.String(), Start: fmtTime(start, loc), End: fmtTime(end, loc), Series: []seriesOut{}, SeriesAll: len(series)}
	for _, s := range series {
		out.Total += len(s.Buckets)
	}
	// The first limit series by name, each with its newest buckets: the
	// largest share per series that keeps them within limit (a short
	// series leaves its unused share to the others), then smaller while
	// they exceed the byte budget.
	shown := series[:min(limit, len(series))]
	count := func(share int) int {
		n := 0
		for _, s := range shown {
			n += min(share, len(s.Buckets))
		}
		return n
	}
	share := 1
	for share < limit && count(share+1) <= limit && count(share+1) > count(share) {
		share++
	}
	conv := make([][]bucketOut, len(shown))
	sizes := make([][]int, len(shown)) // sizes[i][k]: bytes of the newest k+1 buckets
	for i, s := range shown {
		n := min(len(s.Buckets), share)
		conv[i] = make([]bucketOut, n)
		sizes[i] = make([]int, n)
		sum := 0
		for k := range n {
			b := s.Buckets[len(s.Buckets)-1-k]
			bo := bucketOut{Start: fmtTime(b.Start, loc), Count: b.Count, Min: b.Min, Mean: b.Mean, Max: b.Max, First: b.First, Last: b.Last}
			bend := bucketEnd(p, b.Start)
			bo.End = fmtTime(bend, loc)
			bo.Partial = !start.IsZero() && b.Start.Before(start) || !end.IsZero() && bend.Add(-time.Millisecond).After(end) || end.IsZero() && bend.After(now)
			if !math.IsInf(b.Sum, 0) && !math.IsNaN(b.Sum) {
				v := b.Sum
				bo.Sum = &v
			}
			conv[i][n-1-k] = bo
			sum += jsonSize(bo) + 1
			sizes[i][k] = sum
		}
	}
	bytes := func(share int) int {
		n := 0
		for i := range conv {
			if k := min(share, len(conv[i])); k > 0 {
				n += sizes[i][k-1]
			}
		}
		return n
	}
	over := false
	for share > 1 && bytes(share) > t.cfg.maxResult {
		share--
		over = true
	}
	// One bucket a series still too much: fewer series.
	for len(conv) > 1 && bytes(share) > t.cfg.maxResult {
		conv, sizes, shown = conv[:len(conv)-1], sizes[:len(sizes)-1], shown[:len(shown)-1]
		over = true
	}
	for i, s := range shown {
		so := seriesOut{Name: s.Name, Buckets: conv[i][max(0, len(conv[i])-share):], Total: len(s.Buckets)}
		if s.Tier != 0 {
			so.Tier = ageText(s.Tier)
		}
		out.Returned += len(so.Buckets)
		out.Series = append(out.Series, so)
	}
	out.Truncated = out.Returned < out.Total
	switch {
	case len(series) == 0 && len(recs) == 0:
		out.Note = fmt.Sprintf("no records match %q", pattern)
	case len(series) == 0:
		out.Note = fmt.Sprintf("%d records match %q but none has a number in field %q in this range; latest_values shows the values' shape", len(recs), pattern, in.Field)
	case out.Truncated:
		out.Note = fmt.Sprintf("truncated: showing %d of %d buckets", out.Returned, out.Total)
		if len(shown) < len(series) {
			out.Note += fmt.Sprintf(" of the first %d of %d series by name", len(shown), len(series))
		}
		out.Note += fmt.Sprintf(", the newest %d of each series at most", share)
		if over {
			out.Note += fmt.Sprintf(", as many as fit in %s", sizeText(t.cfg.maxResult))
		}
		out.Note += fmt.Sprintf("; use a wider every, a narrower range or pattern, or raise limit (at most %d)", t.cfg.maxBuckets)
	}
	return out, nil
}

// bucketEnd is where the bucket of p that starts at start ends: the next
// bucket's start (a local bucket is longer or shorter than p.Every where
// the zone's clocks change).
func bucketEnd(p rechist.AggregateParams, start time.Time) time.Time {
	d := p.Every
	for range 4 {
		if next := p.BucketStart(start.Add(d)); next.After(start) {
			return next
		}
		d += max(p.Every/2, time.Millisecond)
	}
	return start.Add(p.Every)
}
