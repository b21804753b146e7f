package rechist

import (
	"context"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/seed178a96f3/rechist/internal/core"
)

// All streams the records Query would return, in the same order, with
// memory that does not grow with their number: one record's rows at a time
// from the database, decoded as they come. Breaking out of the loop stops
// the query and releases its connection. Rows that do not decode into T
// are skipped and counted as in Query. An error (bad argument, ctx, I/O)
// is yielded once, as the last element.
//
// The whole stream reads one snapshot of the database. On SQLite that
// snapshot keeps the WAL from starting over for as long as the loop runs.
func (r *Repo[T]) All(ctx context.Context, pattern string, p QueryParams) iter.Seq2[Record[T], error] {
	return r.decoded(p, func(rng core.Range) iter.Seq2[core.Row, error] { return r.db.core.All(ctx, pattern, rng) })
}

// decoded streams the rows rows(p's range) yields, decoded into T: rows
// that do not decode are skipped and counted; an error (a bad p, a nil
// option of NewRepo, ctx, I/O) is yielded once, as the last element.
func (r *Repo[T]) decoded(p QueryParams, rows func(core.Range) iter.Seq2[core.Row, error]) iter.Seq2[Record[T], error] {
	return func(yield func(Record[T], error) bool) {
		if r.bad != nil {
			yield(Record[T]{}, r.bad)
			return
		}
		rng, err := p.toRange()
		if err != nil {
			yield(Record[T]{}, public(err))
			return
		}
		for row, err := range rows(rng) {
			if err != nil {
				yield(Record[T]{}, public(err))
				return
			}
			rec, ok := decodeOne[T](r.db.core, row, r.strict)
			if !ok {
				continue
			}
			if !yield(rec, nil) {
				return
			}
		}
	}
}

// Latest returns the newest value of the record named name; every
// character of name, '*' included, stands for itself. A record without
// rows is an error wrapping [ErrNotFound]; a row that does not decode into
// T is skipped and counted, and the error is ErrNotFound too.
func (r *Repo[T]) Latest(ctx context.Context, name string) (Record[T], error) {
	if r.bad != nil {
		return Record[T]{}, r.bad
	}
	row, err := r.db.core.Latest(ctx, name)
	if err != nil {
		return Record[T]{}, public(err)
	}
	rec, ok := decodeOne[T](r.db.core, row, r.strict)
	if !ok {
		return Record[T]{}, public(core.Wrap("latest", core.ErrNotFound, nil))
	}
	return rec, nil
}

// RecordInfo describes one record: its name, how many raw rows it holds,
// and the times of the oldest and newest row of its history, raw or rolled
// up into a tier (a record whose raw rows retention deleted is still
// listed while its tiers hold any).
type RecordInfo struct {
	Name        string
	Rows        int64
	First, Last time.Time
	// Tiers are the widths of the record's rollup tiers (none without a
	// policy that has tiers).
	Tiers []time.Duration
	// Fields are the numeric fields of the rows in the newest block of
	// each of the record's tiers, as [AggregateParams].Field takes them ("" for a value
	// that is itself a number): what its tiers can aggregate. Empty
	// without tiers, and a field whose keys hold a dot is left out.
	Fields []string
}

// Names lists the names of the records pattern matches, ordered by name:
// those with raw rows and those whose history is left in rollup tiers only.
// It reads the names table, a row a record, whatever their rows (on a
// file opened read-only that predates the table: an index seek a record).
func (db *DB) Names(ctx context.Context, pattern string) ([]string, error) {
	names, err := db.core.Names(ctx, pattern)
	return names, public(err)
}

// Records lists every record whose name matches pattern, ordered by name.
// Rows, First and Last come from the names table, which the database's
// triggers keep in the transaction of every write (any program's), so the
// cost is a row a record, however deep the history. On a file opened
// read-only that predates the table, Rows is counted from the index, in
// time proportional to the record's rows.
func (db *DB) Records(ctx context.Context, pattern string) ([]RecordInfo, error) {
	got, err := db.core.Records(ctx, pattern)
	if err != nil {
		return nil, public(err)
	}
	out := make([]RecordInfo, len(got))
	for i, g := range got {
		out[i] = RecordInfo{Name: g.Name, Rows: g.Rows, First: fromMillis(g.FirstMs), Last: fromMillis(g.LastMs)}
		for _, w := range g.TierMs {
			out[i].Tiers = append(out[i].Tiers, time.Duration(w)*time.Millisecond)
		}
		for _, p := range g.Fields {
			if !slices.ContainsFunc(p, func(k string) bool { return strings.Contains(k, ".") }) {
				out[i].Fields = append(out[i].Fields, strings.Join(p, "."))
			}
		}
	}
	return out, nil
}

// Delete deletes the rows of the records matching pattern stored within
// [p.Start, p.End] (a zero time leaves that side unbounded) and returns how
// many it deleted. It works in short transactions like [DB.Cleanup]; if
// ctx ends midway, the rows deleted so far stay deleted and their count
// comes with the error. p.LimitPerRecord must be 0.
func (db *DB) Delete(ctx context.Context, pattern string, p QueryParams) (int64, error) {
	if p.LimitPerRecord != 0 {
		return 0, public(core.Invalidf("delete", "LimitPerRecord must be 0, got %d", p.LimitPerRecord))
	}
	rng, err := p.toRangeFor("delete")
	if err != nil {
		return 0, public(err)
	}
	n, err := db.core.Delete(ctx, pattern, rng)
	return n, public(err)
}

// AggregateParams selects what [DB.Aggregate] summarises.
type AggregateParams struct {
	// Field is a dot-separated path of object keys in the JSON value
	// ("celsius", "reading.value"); "" means the value itself. Rows whose
	// field is missing or not a JSON number are left out, and so are
	// numbers beyond float64's range (1e400: rechist refuses to store
	// them, another program may have); a number too small for float64
	// (1e-400), and -0, count as 0.
	Field string
	// Every is the bucket width, at least 1 ms; buckets are aligned to the
	// Unix epoch: a bucket starts at floor(ms / Every) * Every, in UTC, or
	// in Location's local time.
	Every time.Duration
	// Location, when set to a zone other than UTC, aligns the buckets to
	// its local wall-clock time: 1d buckets start at local midnight, 1h
	// buckets at local whole hours (in Asia/Kathmandu, at :15 UTC). A
	// bucket is a span of wall-clock time: where clocks go back, the
	// repeated hour falls into one bucket, which is longer; where they go
	// forward, the bucket is shorter. Bucket.Start is the instant of its
	// first wall-clock time. The raw rows are then folded outside the
	// database; a rollup tier serves where each of its buckets falls
	// within one local bucket (the zone's offsets and changes are whole
	// tier buckets: whole hours for a 1h tier). nil: UTC.
	Location *time.Location
	// Start and End bound the rows' times, both inclusive; a zero time
	// leaves that side unbounded.
	Start, End time.Time
}

// BucketStart is the start of the bucket of p (Every, Location) that
// holds t: where a bucket begins and the one before it ends.
func (p AggregateParams) BucketStart(t time.Time) time.Time {
	if p.Every < time.Millisecond {
		return t
	}
	return time.UnixMilli(core.BucketStart(p.Location, p.Every.Milliseconds(), t.UnixMilli()))
}

// Series is one record's buckets, ascending by Start.
type Series struct {
	Name    string
	Buckets []Bucket
	// Tier is the width of the rollup tier whose buckets answered the
	// whole tier buckets within the range (the rest, and rows not rolled
	// up yet, came from raw rows, merged exactly); 0 when raw rows alone
	// answered. See [Policy].
	Tier time.Duration
}

// Bucket summarises the numbers of one record within one bucket. First and
// Last are the values of the bucket's oldest and newest rows (by time, then
// insert order). Values are float64: integers beyond 2^53 lose precision.
//
// Sum adds the values exactly, each as its shortest decimal (the digits
// strconv.FormatFloat(v, 'g', -1, 64) prints), and rounds once to the
// nearest float64: ten 0.1 sum to 1, the order of the rows does not
// matter, and both engines give the same Sum bit for bit. Mean is that
// exact sum over Count, rounded once. Nothing overflows on the way: a
// bucket whose sum is beyond float64's range has Sum +Inf or -Inf, by its
// sign, and a finite Mean (the mean of 1.7e308 and 1.7e308 is 1.7e308);
// Min, Max, First and Last stay finite; and huge values that cancel
// (1.7e308 + 1.7e308 - 1.7e308) give a finite Sum (1.7e308).
type Bucket struct {
	Start                            time.Time
	Count                            int64
	Min, Max, Mean, Sum, First, Last float64
}

// Aggregate summarises a numeric field of the records matching pattern in
// fixed time buckets, in the database (no rows are shipped): count, min,
// max, mean, sum, first and last per bucket. Empty buckets are left out,
// and so are records without a number in range. Series come ordered by
// name.
func (db *DB) Aggregate(ctx context.Context, pattern string, p AggregateParams) ([]Series, error) {
	const op = "aggregate"
	q := QueryParams{Start: p.Start, End: p.End}
	rng, err := q.toRangeFor(op)
	if err != nil {
		return nil, public(err)
	}
	spec := core.AggSpec{EveryMs: p.Every.Milliseconds(), StartMs: max(rng.StartMs, 0), EndMs: rng.EndMs, Loc: p.Location}
	if p.Every%time.Millisecond != 0 {
		return nil, public(core.Invalidf(op, "every %v is not a whole number of milliseconds", p.Every))
	}
	if p.Field != "" {
		spec.Path = strings.Split(p.Field, ".")
	}
	got, err := db.core.Aggregate(ctx, pattern, spec)
	if err != nil {
		return nil, public(err)
	}
	out := make([]Series, len(got))
	for i, g := range got {
		s := Series{Name: g.Name, Buckets: make([]Bucket, len(g.Buckets)), Tier: time.Duration(g.TierMs) * time.Millisecond}
		for j, b := range g.Buckets {
			s.Buckets[j] = Bucket{Start: fromMillis(b.StartMs), Count: b.Count, Min: b.Min, Max: b.Max,
				Mean: b.Mean, Sum: b.Sum, First: b.First, Last: b.Last}
		}
		out[i] = s
	}
	return out, nil
}
