package repo

import (
	"cmp"
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"math"
	"sync"

	"modernc.org/sqlite"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/internal/jsonpath"
)

// aggregateSQL summarises one record's rows with rechist_aggregate, an
// aggregate function of this package that SQLite calls once per row inside
// the query: no row leaves SQLite. It is hand-written, not generated: sqlc
// checks queries against a SQLite that does not have the function.
//
// SQL alone (json_extract, GROUP BY bucket, window functions for first and
// last) measured 2x slower than reading the rows out and aggregating them
// in Go (docs/performance.md): the JSON is parsed several times a row and
// the rows sorted twice. The function reads each row's JSON once and needs
// no sort: the subquery hands it the rows in (stored_at, id DESC) order,
// which idx_record_time read backwards gives as it is (no sorter; asserted
// by a test). SQLite drops a FROM subquery's ORDER BY only when the outer
// query is a join or has an ORDER BY of its own, and never when it uses an
// aggregate other than count, min and max (select.c: what keeps
// group_concat over an ordered subquery in order); the function also
// checks that the times do not go backwards and fails the query if they
// do.
//
// In that order a bucket's rows come one after the other, buckets
// ascending; its first row (the oldest, lowest id among equal times) is
// the last one seen at the bucket's lowest time, its last row the first
// one seen at its highest time; the function needs no id. And reading the
// index backwards makes SQLite's step from the index to the table a step
// to the next row whenever a record's ids are consecutive (rows written
// one record at a time), instead of a descent from the root of the table.
// The number of arguments matters too: the driver boxes each argument of
// each row into an interface, allocating for a string and for integers
// from 256 on, so the path and the bucket width come through a token
// below 256 (specs) and the id not at all.
const aggregateSQL = `SELECT rechist_aggregate(value_json, stored_at, ?1) FROM (
SELECT value_json, stored_at
FROM record_history
WHERE record_name = ?2 AND stored_at >= ?3 AND stored_at <= ?4
ORDER BY stored_at, id DESC)`

// specs holds the path and bucket width of each running evaluation of
// rechist_aggregate under a token, the smallest free one, so below 256
// while fewer than 256 run at once (and correct, only slower, beyond).
var specs = struct {
	sync.Mutex
	m map[int64]aggSpec
}{m: map[int64]aggSpec{}}

type aggSpec struct {
	path  []string
	every int64
}

// addSpec registers s under the smallest free token.
func addSpec(s aggSpec) int64 {
	specs.Lock()
	defer specs.Unlock()
	t := int64(0)
	for {
		if _, used := specs.m[t]; !used {
			specs.m[t] = s
			return t
		}
		t++
	}
}

func dropSpec(t int64) {
	specs.Lock()
	delete(specs.m, t)
	specs.Unlock()
}

func init() {
	err := sqlite.RegisterFunction("rechist_aggregate", &sqlite.FunctionImpl{
		NArgs:         3,
		Deterministic: true,
		VolatileArgs:  true, // value_json is read during Step only
		MakeAggregate: func(sqlite.FunctionContext) (sqlite.AggregateFunction, error) {
			return &aggregator{}, nil
		},
	})
	if err != nil {
		panic("rechist: register rechist_aggregate: " + err.Error())
	}
}

// aggregator is one evaluation of rechist_aggregate.
type aggregator struct {
	path    []string
	every   int64
	ready   bool     // path and every are set: a row was seen
	prev    storedAt // that row's time
	buckets []bucketAcc
}

// storedAt is a stored_at value: an integer, or a REAL that another
// program wrote.
type storedAt struct {
	i    int64
	f    float64
	real bool
}

// ms is CAST(stored_at AS INTEGER), as SQLite computes it.
func (t storedAt) ms() int64 {
	switch {
	case !t.real:
		return t.i
	case t.f < -9223372036854774784.0:
		return math.MinInt64
	case t.f > 9223372036854774784.0:
		return math.MaxInt64
	}
	return int64(t.f)
}

// cmp compares two times as SQLite orders them: numerically, an integer
// and a REAL too.
func (t storedAt) cmp(u storedAt) int {
	switch {
	case !t.real && !u.real:
		return cmp.Compare(t.i, u.i)
	case t.real && u.real:
		return cmp.Compare(t.f, u.f)
	case t.real:
		return -intFloatCmp(u.i, t.f)
	}
	return intFloatCmp(t.i, u.f)
}

// intFloatCmp compares an integer with a REAL exactly (sqlite3IntFloatCompare).
func intFloatCmp(i int64, r float64) int {
	switch {
	case r < -9223372036854775808.0:
		return 1
	case r >= 9223372036854775808.0:
		return -1
	}
	if c := cmp.Compare(i, int64(r)); c != 0 {
		return c
	}
	return cmp.Compare(float64(i), r)
}

// bucketAcc is a bucket being summed, with the times of its First and Last.
type bucketAcc struct {
	core.Bucket
	firstAt, lastAt storedAt
}

func (a *aggregator) Step(_ *sqlite.FunctionContext, args []driver.Value) error {
	if !a.ready {
		t, _ := args[2].(int64)
		specs.Lock()
		s, ok := specs.m[t]
		specs.Unlock()
		if !ok || s.every < 1 {
			return errors.New("rechist_aggregate: no such evaluation")
		}
		a.path, a.every = s.path, s.every
	}
	var at storedAt
	switch v := args[1].(type) {
	case int64:
		at.i = v
	case float64:
		at.f, at.real = v, true
	default:
		return nil // not a time the range would have selected
	}
	if a.ready && at.cmp(a.prev) < 0 {
		return errors.New("rechist_aggregate: rows out of time order")
	}
	a.prev, a.ready = at, true
	js, ok := args[0].(string)
	if !ok {
		return nil // a BLOB or NULL from another program: not JSON text
	}
	x, ok := jsonpath.Number(js, a.path)
	if !ok {
		return nil
	}
	start := at.ms() / a.every * a.every
	if n := len(a.buckets); n == 0 || a.buckets[n-1].StartMs != start {
		a.buckets = append(a.buckets, bucketAcc{Bucket: core.Bucket{StartMs: start, Min: x, Max: x, First: x, Last: x}, firstAt: at, lastAt: at})
	}
	b := &a.buckets[len(a.buckets)-1]
	b.Count++
	b.Sum += x
	b.Min, b.Max = min(b.Min, x), max(b.Max, x)
	switch {
	case at.cmp(b.lastAt) > 0:
		b.Last, b.lastAt = x, at // a later time: its first row is the newest
	case at.cmp(b.firstAt) == 0:
		b.First = x // the same time as the oldest, a lower id
	}
	return nil
}

func (a *aggregator) WindowInverse(*sqlite.FunctionContext, []driver.Value) error {
	return errors.New("rechist_aggregate is not a window function")
}

// WindowValue encodes the buckets, ascending, 7 little-endian 8-byte
// fields each: start, count, min, max, sum, first, last.
func (a *aggregator) WindowValue(*sqlite.FunctionContext) (driver.Value, error) {
	out := make([]byte, 0, len(a.buckets)*56)
	for _, b := range a.buckets {
		out = binary.LittleEndian.AppendUint64(out, uint64(b.StartMs))
		out = binary.LittleEndian.AppendUint64(out, uint64(b.Count))
		for _, f := range []float64{b.Min, b.Max, b.Sum, b.First, b.Last} {
			out = binary.LittleEndian.AppendUint64(out, math.Float64bits(f))
		}
	}
	return out, nil
}

func (a *aggregator) Final(*sqlite.FunctionContext) {}

// decodeBuckets reads what WindowValue wrote.
func decodeBuckets(blob []byte) []core.Bucket {
	out := make([]core.Bucket, 0, len(blob)/56)
	for len(blob) >= 56 {
		u := func(i int) uint64 { return binary.LittleEndian.Uint64(blob[i*8:]) }
		f := func(i int) float64 { return math.Float64frombits(u(i)) }
		b := core.Bucket{StartMs: int64(u(0)), Count: int64(u(1)), Min: f(2), Max: f(3), Sum: f(4), First: f(5), Last: f(6)}
		b.Mean = b.Sum / float64(b.Count)
		out = append(out, b)
		blob = blob[56:]
	}
	return out
}

// aggregate runs aggregateSQL in the reader's transaction.
func (r *reader) aggregate(ctx context.Context, name string, a core.AggSpec) ([]core.Bucket, error) {
	t := addSpec(aggSpec{path: a.Path, every: a.EveryMs})
	defer dropSpec(t)
	var blob []byte
	err := r.tx.QueryRowContext(ctx, aggregateSQL, t, name, a.StartMs, a.EndMs).Scan(&blob)
	if err != nil || blob == nil {
		return nil, err
	}
	return decodeBuckets(blob), nil
}
