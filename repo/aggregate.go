package repo

import (
	"cmp"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"

	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/internal/jsonpath"
)

// aggregateSQL summarises one record's rows with rechist_aggregate, a
// function of this package that SQLite calls once per row inside the
// query, adding the row to Go state the query names by a token: no row
// leaves SQLite. It is hand-written, not generated: sqlc checks queries
// against a SQLite that does not have the function.
//
// SQL alone (json_extract, GROUP BY bucket, window functions for first and
// last) measured 2x slower than reading the rows out and aggregating them
// in Go (docs/performance.md): the JSON is parsed several times a row and
// the rows sorted twice. The function reads each row's JSON once and needs
// no sort: the subquery produces the rows in (stored_at, id DESC) order,
// which idx_record_time read backwards gives as it is (no sorter; asserted
// by a test), and calls the function on each as it produces it. SQLite
// keeps a FROM subquery's ORDER BY, and does not merge the subquery into
// the outer query, when the outer query is an aggregate that is not
// count, min or max and neither a join nor ordered itself (select.c: what
// keeps group_concat over an ordered subquery in order); the function
// also checks that the times do not go backwards and fails the query if
// they do, and the outer total must equal the rows the function counted.
//
// In that order a bucket's rows come one after the other, buckets
// ascending; its first row (the oldest, lowest id among equal times) is
// the last one seen at the bucket's lowest time, its last row the first
// one seen at its highest time: the function needs no id. Reading the
// index backwards makes SQLite's step from the index to the table a step
// to the next row whenever a record's ids are consecutive (rows written
// one record at a time) instead of a descent from the root of the table.
// Calling the function inside the subquery, rather than an aggregate
// function over it, spares SQLite a copy of each value from the subquery
// to the outer query. The driver boxes each argument of each row into an
// interface, allocating for a string and for an integer from 256 on: the
// path and the bucket width stay in Go, behind a token below 256.
const aggregateSQL = `SELECT total(n) FROM (
SELECT rechist_aggregate(?1, value_json, stored_at) AS n
FROM record_history
WHERE record_name = ?2 AND stored_at >= ?3 AND stored_at <= ?4
ORDER BY stored_at, id DESC)`

// running holds the aggregator of each query running aggregateSQL under
// its token, the smallest free one: below 256 while fewer than 256 run at
// once, where a row finds its aggregator without a lock (beyond, under
// the lock: correct, only slower).
var running struct {
	small [256]atomic.Pointer[aggregator]
	mu    sync.Mutex
	m     map[int64]*aggregator // every token in use
}

// start registers a under the smallest free token.
func start(a *aggregator) int64 {
	running.mu.Lock()
	defer running.mu.Unlock()
	if running.m == nil {
		running.m = map[int64]*aggregator{}
	}
	t := int64(0)
	for running.m[t] != nil {
		t++
	}
	running.m[t] = a
	if t < int64(len(running.small)) {
		running.small[t].Store(a)
	}
	return t
}

func stop(t int64) {
	running.mu.Lock()
	defer running.mu.Unlock()
	delete(running.m, t)
	if t < int64(len(running.small)) {
		running.small[t].Store(nil)
	}
}

func lookup(t int64) *aggregator {
	if uint64(t) < uint64(len(running.small)) {
		return running.small[t].Load()
	}
	return lookupSlow(t)
}

func lookupSlow(t int64) *aggregator {
	running.mu.Lock()
	defer running.mu.Unlock()
	return running.m[t]
}

func init() {
	err := sqlite.RegisterFunction("rechist_aggregate", &sqlite.FunctionImpl{
		NArgs:        3,
		VolatileArgs: true, // value_json is read during the call only
		Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			t, _ := args[0].(int64)
			a := lookup(t)
			if a == nil {
				return nil, errors.New("rechist_aggregate: no such query")
			}
			return a.row(args[1], args[2])
		},
	})
	if err != nil {
		panic("rechist: register rechist_aggregate: " + err.Error())
	}
}

// aggregator sums up one record's rows for one query.
type aggregator struct {
	path    []string
	every   int64
	seen    bool     // a row was seen
	prev    storedAt // that row's time
	counted int64    // rows with a number
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
	if t.real || u.real {
		return t.cmpReal(u)
	}
	if t.i < u.i {
		return -1
	}
	if t.i > u.i {
		return 1
	}
	return 0
}

func (t storedAt) cmpReal(u storedAt) int {
	switch {
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
	sum             core.DecimalSum
}

// row adds one row, the value and the time SQLite handed the function,
// and returns 1 when it had a number at the path, else nil.
func (a *aggregator) row(value, time driver.Value) (driver.Value, error) {
	var at storedAt
	switch v := time.(type) {
	case int64:
		at.i = v
	case float64:
		at.f, at.real = v, true
	default:
		return nil, nil // not a time the range would have selected
	}
	if a.seen && at.cmp(a.prev) < 0 {
		return nil, errors.New("rechist_aggregate: rows out of time order")
	}
	a.prev, a.seen = at, true
	js, ok := value.(string)
	if !ok {
		return nil, nil // a BLOB from another program: not JSON text
	}
	x, ok := jsonpath.Number(js, a.path)
	if !ok {
		return nil, nil // not a number, or one beyond float64 (1e400)
	}
	if x == 0 {
		x = 0 // -0 (and -1e-400) count as +0: PostgreSQL's numeric has no -0
	}
	a.counted++
	start := at.ms() / a.every * a.every
	if n := len(a.buckets); n == 0 || a.buckets[n-1].StartMs != start {
		a.buckets = append(a.buckets, bucketAcc{Bucket: core.Bucket{StartMs: start, Min: x, Max: x, First: x, Last: x}, firstAt: at, lastAt: at})
	}
	b := &a.buckets[len(a.buckets)-1]
	b.Count++
	b.sum.Add(x)
	b.Min, b.Max = min(b.Min, x), max(b.Max, x)
	switch {
	case at.cmp(b.lastAt) > 0:
		b.Last, b.lastAt = x, at // a later time: its first row is the newest
	case at.cmp(b.firstAt) == 0:
		b.First = x // the same time as the oldest, a lower id
	}
	return int64(1), nil
}

// aggregate runs aggregateSQL in the reader's transaction.
func (r *reader) aggregate(ctx context.Context, name string, spec core.AggSpec) ([]core.Bucket, error) {
	a := &aggregator{path: spec.Path, every: spec.EveryMs}
	t := start(a)
	defer stop(t)
	var total float64
	if err := r.conn.QueryRowContext(ctx, aggregateSQL, t, name, spec.StartMs, spec.EndMs).Scan(&total); err != nil {
		return nil, err
	}
	if total != float64(a.counted) {
		return nil, fmt.Errorf("rechist_aggregate: the query saw %v rows with a number, the function %d", total, a.counted)
	}
	out := make([]core.Bucket, len(a.buckets))
	for i, b := range a.buckets {
		out[i] = b.Bucket
		out[i].Sum, out[i].Mean = b.sum.Sum(), b.sum.Mean(b.Count)
	}
	return out, nil
}
