package rechisthttp

// The history as Prometheus storage (storage.Queryable), for Prometheus's
// own PromQL engine (promapi.go). Every numeric leaf of a record's JSON
// value is one series:
//
//	{__name__="temperature::vienna", record="temperature::vienna", field="celsius"}
//
// __name__ and record both hold the record's name: a name that is not a
// classic metric name ("sensors.temp.outdoor") is selected by the label
// (`{record="sensors.temp.outdoor"}`, what Grafana's query builder writes)
// or, in Prometheus 3's syntax, quoted (`{"sensors.temp.outdoor"}`). field
// is the dot-joined path of object keys to the number, as Aggregate's
// Field takes it; a value that is itself a number has no field label.
// Strings, booleans, nulls and arrays are not series (store 0 and 1 for a
// state to chart). Each row is a sample at its time; of two rows of one
// record at one millisecond, the later store.

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/internal/jsonpath"
)

// Label names of the series.
const (
	promRecord = "record"
	promField  = "field"
)

// promStorage is the handler's history as a storage.Queryable.
type promStorage struct{ h *Handler }

func (s promStorage) Querier(mint, maxt int64) (storage.Querier, error) {
	return &promQuerier{h: s.h, mint: mint, maxt: maxt, left: s.h.cfg.maxSamples}, nil
}

// promQuerier reads the series within [mint, maxt] (Unix ms), at most
// left samples more: one query's, however many selectors it has.
type promQuerier struct {
	h          *Handler
	mint, maxt int64
	left       int
}

// errTooManySamples is a query's error past WithMaxSamples: Prometheus's
// own, which the API answers as a cost limit (422).
var errTooManySamples = promql.ErrTooManySamplesRead("the history's storage (rechisthttp.WithMaxSamples)")

func (q *promQuerier) Close() error { return nil }

// records lists the records the matchers on the name labels (__name__,
// record) admit: the names of namePattern, each tested against them.
func (q *promQuerier) records(ctx context.Context, ms []*labels.Matcher) ([]string, error) {
	names, err := q.h.db.Names(ctx, namePattern(ms, q.h.cfg.topics))
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(names, func(name string) bool {
		for _, m := range ms {
			if (m.Name == labels.MetricName || m.Name == promRecord) && !m.Matches(name) {
				return true
			}
		}
		return false
	}), nil
}

// namePattern is the pattern, in the DB's language (topics: AimDB's),
// whose names hold every record the name matchers admit, and as few
// others as it can say: an equality names one record (an index seek); a
// regular expression with a literal prefix reads only the names with it
// (an index range; with topics, from the prefix's last whole segment);
// any other reads every name. A name that is itself a pattern of the
// language reads every name.
func namePattern(ms []*labels.Matcher, topics bool) string {
	all := "*"
	if topics {
		all = "#"
	}
	pattern := all
	for _, m := range ms {
		if m.Name != labels.MetricName && m.Name != promRecord {
			continue
		}
		switch {
		case m.Type == labels.MatchEqual:
			if !isPattern(m.Value, topics) {
				return m.Value
			}
		case m.Type == labels.MatchRegexp && pattern == all:
			if p := m.Prefix(); p != "" {
				pattern = prefixPattern(p, topics)
			}
		}
	}
	return pattern
}

// isPattern says whether name would match other names as a pattern.
func isPattern(name string, topics bool) bool {
	if !topics {
		return strings.Contains(name, "*")
	}
	return slices.ContainsFunc(strings.Split(name, "."), func(seg string) bool { return seg == "*" || seg == "#" })
}

// prefixPattern is the narrowest pattern matching every name that starts
// with prefix.
func prefixPattern(prefix string, topics bool) string {
	if !topics {
		if strings.Contains(prefix, "*") {
			return "*"
		}
		return prefix + "*"
	}
	whole := prefix[:strings.LastIndexByte(prefix, '.')+1] // its whole segments, each with its dot
	if whole == "" || isPattern(strings.TrimSuffix(whole, "."), true) {
		return "#"
	}
	return whole + "#"
}

// inRange keeps the names whose history (raw rows and tiers, as Records
// spans it) overlaps [q.mint, q.maxt]: the names a dashboard's time range
// has data for.
func (q *promQuerier) inRange(ctx context.Context, names []string, ms []*labels.Matcher) ([]string, error) {
	infos, err := q.h.db.Records(ctx, namePattern(ms, q.h.cfg.topics))
	if err != nil {
		return nil, err
	}
	live := make(map[string]bool, len(infos))
	for _, in := range infos {
		live[in.Name] = in.First.UnixMilli() <= q.maxt && in.Last.UnixMilli() >= q.mint
	}
	return slices.DeleteFunc(names, func(n string) bool { return !live[n] }), nil
}

// seriesLabels are the labels of record name's series at field path.
func seriesLabels(name, field string) labels.Labels {
	b := labels.NewScratchBuilder(3)
	b.Add(labels.MetricName, name)
	if field != "" {
		b.Add(promField, field)
	}
	b.Add(promRecord, name)
	b.Sort()
	return b.Labels()
}

// matchesRest says whether lbls pass the matchers on labels other than the
// name labels (a label a series lacks is the empty string).
func matchesRest(lbls labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if m.Name != labels.MetricName && m.Name != promRecord && !m.Matches(lbls.Get(m.Name)) {
			return false
		}
	}
	return true
}

func (q *promQuerier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	mint, maxt := q.mint, q.maxt
	if hints != nil {
		mint, maxt = max(mint, hints.Start), min(maxt, hints.End)
	}
	if hints != nil && hints.Func == "series" {
		return q.seriesOnly(ctx, mint, maxt, ms)
	}
	names, err := q.records(ctx, ms)
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	var out []storage.Series
	for _, name := range names {
		series, err := q.recordSeries(ctx, name, mint, maxt)
		if err != nil {
			return storage.ErrSeriesSet(err)
		}
		tiers, cut, err := q.tierSamples(ctx, name, hints, mint, maxt, oldestSample(series))
		if err != nil {
			return storage.ErrSeriesSet(err)
		}
		if cut > 0 {
			series = withTiers(name, series, tiers, cut)
		}
		for _, s := range series {
			if matchesRest(s.Labels(), ms) {
				out = append(out, s)
			}
		}
	}
	slices.SortFunc(out, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
	return &listSeriesSet{series: out, i: -1}
}

// seriesOnly lists the series of the records the matchers admit by the
// newest row of each within [mint, maxt] (a series listing needs their
// labels alone): one read for them all, as the dashboard lists records,
// not one a record. Each series holds that one sample.
func (q *promQuerier) seriesOnly(ctx context.Context, mint, maxt int64, ms []*labels.Matcher) storage.SeriesSet {
	if mint > maxt || maxt < 0 {
		return &listSeriesSet{i: -1}
	}
	p := rechist.QueryParams{LimitPerRecord: 1, Start: time.UnixMilli(max(mint, 0)), End: time.UnixMilli(maxt)}
	var out []storage.Series
	for rec, err := range q.h.raw.Timeline(ctx, namePattern(ms, q.h.cfg.topics), p) {
		if err != nil {
			return storage.ErrSeriesSet(err)
		}
		if !slices.ContainsFunc(ms, func(m *labels.Matcher) bool {
			return (m.Name == labels.MetricName || m.Name == promRecord) && !m.Matches(rec.Name)
		}) {
			at := rec.StoredAt.UnixMilli()
			jsonpath.Leaves(string(rec.Value), func(path []string, x float64) {
				s := &floatSeries{lbls: seriesLabels(rec.Name, strings.Join(path, ".")), samples: []promSample{{t: at, f: x}}}
				if matchesRest(s.Labels(), ms) {
					out = append(out, s)
				}
			})
		}
	}
	slices.SortFunc(out, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
	return &listSeriesSet{series: out, i: -1}
}

// recordSeries reads record name's rows within [mint, maxt] into one
// series per numeric field, samples ascending by time.
func (q *promQuerier) recordSeries(ctx context.Context, name string, mint, maxt int64) ([]storage.Series, error) {
	if mint > maxt || maxt < 0 {
		return nil, nil
	}
	// Oldest first: the index read backwards, no sort; among rows at the
	// same millisecond the later insert comes first, and is the one kept.
	// Values lends each value for the callback alone: field names are
	// copied when kept, numbers are parsed out of it.
	rg := core.Range{StartMs: max(mint, 0), EndMs: maxt, OldestFirst: true}
	type fieldSamples struct {
		field   string
		samples []promSample
	}
	by := map[string]*fieldSamples{}
	var order []*fieldSamples
	var path []string
	tooMany := false
	err := q.h.core.Values(ctx, name, rg, func(ms int64, value []byte) bool {
		if q.left < 0 {
			tooMany = true // the rows read stop here
			return false
		}
		jsonpath.LeavesBuf(unsafe.String(unsafe.SliceData(value), len(value)), &path, func(path []string, x float64) {
			q.left--
			var field string
			switch len(path) {
			case 0:
			case 1:
				field = path[0] // no copy for the map lookup: most values are flat
			default:
				field = strings.Join(path, ".")
			}
			f := by[field]
			if f == nil {
				f = &fieldSamples{field: strings.Clone(field)}
				by[f.field] = f
				order = append(order, f)
			} else if n := len(f.samples); n > 0 && f.samples[n-1].t == ms {
				return // an earlier store at the same millisecond (the later comes first)
			}
			f.samples = append(f.samples, promSample{t: ms, f: x})
		})
		return true
	})
	if tooMany {
		return nil, errTooManySamples
	}
	if err != nil {
		return nil, err
	}
	out := make([]storage.Series, 0, len(order))
	for _, f := range order {
		out = append(out, &floatSeries{lbls: seriesLabels(name, f.field), samples: f.samples})
	}
	return out, nil
}

func (q *promQuerier) LabelNames(ctx context.Context, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return []string{labels.MetricName, promField, promRecord}, nil, nil
}

// LabelValues lists the record names for __name__ and record, and for
// field the fields of each matching record's newest value in range.
func (q *promQuerier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	switch name {
	case labels.MetricName, promRecord:
		names, err := q.records(ctx, ms)
		if err != nil || q.mint <= math.MinInt64/2 && q.maxt >= math.MaxInt64/2 {
			return names, nil, err // all of time: the names table alone
		}
		names, err = q.inRange(ctx, names, ms)
		return names, nil, err
	case promField:
		set := q.Select(ctx, false, &storage.SelectHints{Start: q.mint, End: q.maxt, Func: "series"}, ms...)
		var out []string
		for set.Next() {
			if f := set.At().Labels().Get(promField); f != "" && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
		slices.Sort(out)
		return out, nil, set.Err()
	}
	return nil, nil, nil
}

// promSample is one float sample.
type promSample struct {
	t int64
	f float64
}

func (s promSample) T() int64                      { return s.t }
func (s promSample) ST() int64                     { return 0 }
func (s promSample) F() float64                    { return s.f }
func (s promSample) H() *histogram.Histogram       { return nil }
func (s promSample) FH() *histogram.FloatHistogram { return nil }
func (s promSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s promSample) Copy() chunks.Sample           { return s }

// floatSeries is a storage.Series of float samples ascending by time,
// held as they are, 16 bytes a sample: storage.NewListSeries holds each
// boxed in an interface (an allocation, and twice the memory, a sample);
// its iterator boxes one sample at a time.
type floatSeries struct {
	lbls    labels.Labels
	samples promSamples
}

func (s *floatSeries) Labels() labels.Labels { return s.lbls }

func (s *floatSeries) Iterator(chunkenc.Iterator) chunkenc.Iterator {
	return storage.NewListSeriesIterator(s.samples)
}

// promSamples are storage.Samples. Get hands out a pointer into the
// slice: a promSample in the interface would be a 16-byte allocation
// each time the iterator looks at a sample (nine in ten of a rate query's
// allocations were these).
type promSamples []promSample

func (p promSamples) Get(i int) chunks.Sample { return &p[i] }
func (p promSamples) Len() int                { return len(p) }

// listSeriesSet is a storage.SeriesSet over a slice.
type listSeriesSet struct {
	series []storage.Series
	i      int
}

func (l *listSeriesSet) Next() bool                        { l.i++; return l.i < len(l.series) }
func (l *listSeriesSet) At() storage.Series                { return l.series[l.i] }
func (l *listSeriesSet) Err() error                        { return nil }
func (l *listSeriesSet) Warnings() annotations.Annotations { return nil }
