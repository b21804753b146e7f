package rechisthttp

// The rollup tiers under PromQL: where a record's raw rows are gone,
// `max_over_time`, `min_over_time`, `sum_over_time`, `last_over_time`,
// `present_over_time`, and `avg_over_time` over one bucket, are answered
// from its tiers when every window of the query is a run of whole
// buckets of a tier: the range and the step are multiples of the tier's
// width and the windows end on its bucket boundaries (a range query's
// start aligned to it). Each bucket is then one sample, at its last
// millisecond, whose value is what the function takes of it (its max,
// min, sum, last, or mean), so a window's answer is exact: the max of
// maxes, the sum of sums. Such a window is the tier's buckets, [start,
// end): a row at exactly a window's start counts in it, where PromQL's
// raw window, (start, end], counts it in the one before. Raw rows, where
// present, are read as always; a query that does not fit a tier gets
// nothing where they are gone (rate, count_over_time and quantiles need
// every sample). The samples come from DB.Aggregate, which reads the
// tiers and adds any row they do not hold yet.

import (
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/seed178a96f3/rechist"
)

// tierValue is what a bucket gives each function the tiers answer; avg
// only when a window is one bucket (the mean of several is not theirs).
var tierValue = map[string]func(b rechist.Bucket) float64{
	"max_over_time":     func(b rechist.Bucket) float64 { return b.Max },
	"min_over_time":     func(b rechist.Bucket) float64 { return b.Min },
	"sum_over_time":     func(b rechist.Bucket) float64 { return b.Sum },
	"last_over_time":    func(b rechist.Bucket) float64 { return b.Last },
	"present_over_time": func(b rechist.Bucket) float64 { return 1 },
	"avg_over_time":     func(b rechist.Bucket) float64 { return b.Mean },
}

// tierWidth is the widest of tiers whose buckets tile every window the
// hints ask for, or 0.
func tierWidth(hints *storage.SelectHints, tiers []time.Duration) int64 {
	if hints == nil || hints.Range <= 0 || tierValue[hints.Func] == nil || hints.Step < 0 {
		return 0
	}
	end := hints.Start + hints.Range - 1 // the first window's end: Start is past the window's open start
	var best int64
	for _, d := range tiers {
		w := d.Milliseconds()
		if w <= 0 || hints.Range%w != 0 || hints.Step%w != 0 || end%w != 0 || w < best {
			continue
		}
		if hints.Func == "avg_over_time" && hints.Range != w {
			continue
		}
		best = w
	}
	return best
}

// tierSamples gives record name's fields' samples from its tiers for the
// buckets before the one its oldest raw sample in range, at oldest, is in
// (all of them when it has none), and the time from which its raw
// samples stay: cut 0 when the tiers serve none of the query. Retention
// deletes a record's oldest rows first, so the tiers serve where the raw
// rows are gone (a late row older than the rest, that retention has not
// reached yet, moves the cut back to it).
func (q *promQuerier) tierSamples(ctx context.Context, name string, hints *storage.SelectHints, mint, maxt, oldest int64) (map[string][]promSample, int64, error) {
	if hints == nil || hints.Range <= 0 || tierValue[hints.Func] == nil || isPattern(name, q.h.cfg.topics) {
		return nil, 0, nil // not a function the tiers answer: no read
	}
	infos, err := q.h.db.Records(ctx, name)
	if err != nil || len(infos) != 1 || infos[0].Name != name {
		return nil, 0, err
	}
	info := infos[0]
	w := tierWidth(hints, info.Tiers)
	if w == 0 {
		return nil, 0, nil
	}
	cut := maxt + 1 // no raw sample in range: the tiers serve all of it
	if oldest <= maxt {
		cut = ceilTo(oldest, w)
	}
	from := floorTo(max(mint, 0), w)
	if cut <= from {
		return nil, 0, nil
	}
	value := tierValue[hints.Func]
	out := map[string][]promSample{}
	for _, field := range info.Fields {
		series, err := q.h.db.Aggregate(ctx, name, rechist.AggregateParams{Field: field, Every: time.Duration(w) * time.Millisecond,
			Start: time.UnixMilli(from), End: time.UnixMilli(cut - 1)})
		if errors.Is(err, rechist.ErrInvalidArgument) {
			return nil, 0, nil // the tier does not cover the range: raw rows only
		}
		if err != nil {
			return nil, 0, err
		}
		for _, s := range series {
			for _, b := range s.Buckets {
				if at := b.Start.UnixMilli() + w - 1; at >= mint && at <= maxt {
					out[field] = append(out[field], promSample{t: at, f: value(b)})
				}
			}
		}
	}
	return out, cut, nil
}

// withTiers puts the tier samples before each field's raw samples (those
// from cut on), keeping the fields' order and adding those only the tiers
// know.
func withTiers(name string, raw []storage.Series, tiers map[string][]promSample, cut int64) []storage.Series {
	var out []storage.Series
	seen := map[string]bool{}
	for _, s := range raw {
		field := s.Labels().Get(promField)
		seen[field] = true
		samples := slices.Clone(tiers[field])
		it := s.Iterator(nil)
		for it.Next() != 0 {
			if t, f := it.At(); t >= cut {
				samples = append(samples, promSample{t: t, f: f})
			}
		}
		out = append(out, &floatSeries{lbls: seriesLabels(name, field), samples: samples})
	}
	fields := make([]string, 0, len(tiers))
	for field := range tiers {
		if !seen[field] {
			fields = append(fields, field)
		}
	}
	slices.Sort(fields)
	for _, field := range fields {
		out = append(out, &floatSeries{lbls: seriesLabels(name, field), samples: tiers[field]})
	}
	return out
}

// oldestSample is the time of the oldest sample of the series, or
// math.MaxInt64.
func oldestSample(series []storage.Series) int64 {
	oldest := int64(math.MaxInt64)
	for _, s := range series {
		it := s.Iterator(nil)
		if it.Next() != chunkenc.ValNone {
			oldest = min(oldest, it.AtT())
		}
	}
	return oldest
}

// floorTo and ceilTo round ms down and up to a multiple of w.
func floorTo(ms, w int64) int64 { return ms - ms%w }

func ceilTo(ms, w int64) int64 {
	if ms%w == 0 {
		return ms
	}
	return floorTo(ms, w) + w
}
