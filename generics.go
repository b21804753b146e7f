package rechist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/seed178a96f3/rechist/internal/core"
)

// Record is one stored value of a record.
type Record[T any] struct {
	// Name is the record's name, such as "accuracy::vienna".
	Name string
	// Value is the stored value, decoded from its JSON.
	Value T
	// StoredAt is when the value was stored, with millisecond precision, in
	// UTC.
	StoredAt time.Time
}

// QueryParams narrows a query. The zero value selects everything.
type QueryParams struct {
	// LimitPerRecord keeps only the newest LimitPerRecord rows of each
	// record (the oldest with OldestFirst); 0 means no limit.
	LimitPerRecord int
	// Start and End bound StoredAt, both inclusive; a zero time leaves that
	// side unbounded.
	Start, End time.Time
	// OldestFirst gives each record's rows oldest first in Query and All
	// (records still in name order; among rows stored at the same
	// millisecond the later insert still comes first, as newest first).
	// On SQLite it is the cheaper order to read: the index is walked
	// backwards with no sort. Timeline, in time order whatever it says,
	// refuses it with a LimitPerRecord; Delete ignores it.
	OldestFirst bool
}

// Repo stores and queries values of type T, encoded as JSON. Values of
// different types may share one [DB]; a Repo is only a typed view of it.
// A Repo is safe for concurrent use by any number of goroutines.
type Repo[T any] struct {
	db     *DB
	strict bool
	bad    error // a nil option given to NewRepo: every method returns it
}

// RepoOption configures [NewRepo], as [Option] configures [Open]; see
// NewRepo for what a bad one does.
type RepoOption interface {
	repoOption() namedOption[repoConfig]
}

type repoConfig struct{ strict bool }

// repoOpt is every RepoOption.
type repoOpt namedOption[repoConfig]

func (o repoOpt) repoOption() namedOption[repoConfig] { return namedOption[repoConfig](o) }

// Strict makes a Repo skip (and count in [Stats].SkippedRows) the rows
// whose JSON has fields T does not have, instead of decoding what fits:
// a Repo[Temperature] over "*" then leaves a Power row out rather than
// returning it as a zero Temperature.
func Strict() RepoOption {
	return repoOpt{"Strict", func(c *repoConfig) error { c.strict = true; return nil }}
}

// NewRepo returns a typed view of db for values of type T. NewRepo
// returns no error: given a nil option or one twice, it returns a Repo
// every method of which fails with an error wrapping [ErrInvalidArgument]
// that names it, and does nothing.
func NewRepo[T any](db *DB, opts ...RepoOption) *Repo[T] {
	var c repoConfig
	var given []string
	if err := applyOptions("repo", "NewRepo", &c, &given, opts, RepoOption.repoOption); err != nil {
		return &Repo[T]{db: db, bad: public(err)}
	}
	return &Repo[T]{db: db, strict: c.strict}
}

// Store stores v under record name, stamped with the current time, and
// returns once it is committed.
//
// Store waits only for its own commit: the writer goroutine commits all the
// stores that are waiting together in one transaction. If ctx ends while the
// value is still queued, Store returns ctx's error and the value is not
// written. Once the writer has taken the value into a transaction, Store
// waits for that commit and reports its outcome even if ctx ends meanwhile.
// So nil always means stored, and ctx's error always means not stored.
func (r *Repo[T]) Store(ctx context.Context, name string, v T) error {
	return r.StoreAt(ctx, name, v, time.Now())
}

// StoreAt is [Repo.Store] with an explicit time, rounded down to the
// millisecond. at must lie between the Unix epoch and the last int64
// millisecond.
func (r *Repo[T]) StoreAt(ctx context.Context, name string, v T, at time.Time) error {
	if r.bad != nil {
		return r.bad
	}
	row, err := encodeRecord("store", name, v, at)
	if err != nil {
		return public(err)
	}
	return public(r.db.core.Insert(ctx, []core.Row{row}))
}

// StoreMany stores recs atomically, in one transaction: either all of them
// are committed or, on error, none. A record with a zero StoredAt is stamped
// with the current time. It is the fast path for producers that hold many
// values at once; ctx behaves as in [Repo.Store].
func (r *Repo[T]) StoreMany(ctx context.Context, recs []Record[T]) error {
	if r.bad != nil {
		return r.bad
	}
	rows := make([]core.Row, len(recs))
	now := time.Now()
	for i, rec := range recs {
		at := rec.StoredAt
		if at.IsZero() {
			at = now
		}
		row, err := encodeRecord("store", rec.Name, rec.Value, at)
		if err != nil {
			var ce *core.Error
			if len(recs) > 1 && errors.As(err, &ce) {
				err = &core.Error{Op: ce.Op, Err: fmt.Errorf("record %d of %d: %w", i, len(recs), ce.Err)}
			}
			return public(err)
		}
		rows[i] = row
	}
	return public(r.db.core.Insert(ctx, rows))
}

// Query returns the values of the records whose names match pattern within
// p, ordered by record name (bytewise ascending), then newest first; among
// equal times the later store comes first.
//
// In pattern, '*' matches any run of characters (the empty run included)
// and every other character stands for itself; the match covers the whole
// name and is case-sensitive. A pattern without '*' names one record.
//
// Rows whose JSON does not decode into T are skipped, logged at warn level
// and counted in [Stats].SkippedRows. Queries read the last committed state
// on their own connections and never wait for a write transaction.
func (r *Repo[T]) Query(ctx context.Context, pattern string, p QueryParams) ([]Record[T], error) {
	if r.bad != nil {
		return nil, r.bad
	}
	rng, err := p.toRange()
	if err != nil {
		return nil, public(err)
	}
	rows, err := r.db.core.Query(ctx, pattern, rng)
	if err != nil {
		return nil, public(err)
	}
	return decodeRows[T](r.db.core, rows, r.strict), nil
}

// QueryLatest returns the newest n values of every record matching pattern;
// it is Query(ctx, pattern, QueryParams{LimitPerRecord: n}) with n >= 1.
func (r *Repo[T]) QueryLatest(ctx context.Context, pattern string, n int) ([]Record[T], error) {
	if r.bad != nil {
		return nil, r.bad
	}
	if n < 1 {
		return nil, public(core.Invalidf("query", "n must be at least 1, got %d", n))
	}
	return r.Query(ctx, pattern, QueryParams{LimitPerRecord: n})
}

// QueryLatest is [Repo.QueryLatest] for a DB: the newest n values of every
// record matching pattern, decoded as T.
func QueryLatest[T any](ctx context.Context, db *DB, pattern string, n int) ([]Record[T], error) {
	return NewRepo[T](db).QueryLatest(ctx, pattern, n)
}

// Query is [Repo.Query] for a DB.
func Query[T any](ctx context.Context, db *DB, pattern string, p QueryParams) ([]Record[T], error) {
	return NewRepo[T](db).Query(ctx, pattern, p)
}

// encodeRecord validates and encodes one value for the engine.
func encodeRecord(op, name string, v any, at time.Time) (core.Row, error) {
	ms, err := toMillis(op, "time", at)
	if err != nil {
		return core.Row{}, err
	}
	js, err := encodeValue(op, name, v)
	if err != nil {
		return core.Row{}, err
	}
	return core.Row{Name: name, ValueJSON: js, StoredAt: ms}, nil
}

// toRange checks p for a query and converts it to the engine's
// millisecond range.
func (p QueryParams) toRange() (core.Range, error) { return p.toRangeFor("query") }

// toRangeFor is toRange for the operation op.
func (p QueryParams) toRangeFor(op string) (core.Range, error) {
	rng := core.Range{StartMs: math.MinInt64, EndMs: math.MaxInt64}
	if p.LimitPerRecord < 0 {
		return rng, core.Invalidf(op, "limit per record must not be negative, got %d", p.LimitPerRecord)
	}
	rng.LimitPerRecord = int64(p.LimitPerRecord)
	rng.OldestFirst = p.OldestFirst
	var err error
	if !p.Start.IsZero() {
		if rng.StartMs, err = toMillis(op, "start", p.Start); err != nil {
			return rng, err
		}
	}
	if !p.End.IsZero() {
		if rng.EndMs, err = toMillis(op, "end", p.End); err != nil {
			return rng, err
		}
	}
	if !p.Start.IsZero() && !p.End.IsZero() && p.Start.After(p.End) {
		return rng, core.Invalidf(op, "start %s is after end %s",
			p.Start.Format(time.RFC3339Nano), p.End.Format(time.RFC3339Nano))
	}
	return rng, nil
}

// decodeRows decodes rows into records, skipping (and logging and counting)
// those whose JSON does not decode into T. Large results are decoded on
// several goroutines: decoding costs more than reading a row.
func decodeRows[T any](e *core.DB, rows []core.Row, strict bool) []Record[T] {
	out := make([]Record[T], len(rows))
	ok := make([]bool, len(rows))
	decode := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := &rows[i]
			if err := decodeValue(row.ValueJSON, &out[i].Value, strict); err != nil {
				e.Logger().Warn("rechist: skipping a row that does not decode",
					slog.String(core.LogKeyRecord, row.Name), slog.Int64(core.LogKeyID, row.ID),
					slog.String(core.LogKeyType, typeName[T]()), slog.Any(core.LogKeyError, err))
				continue
			}
			out[i].Name, out[i].StoredAt, ok[i] = row.Name, fromMillis(row.StoredAt), true
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(rows)/parallelDecodeRows)
	if workers < 2 {
		decode(0, len(rows))
	} else {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() { decode(w*len(rows)/workers, (w+1)*len(rows)/workers) })
		}
		wg.Wait()
	}
	kept := out[:0]
	for i := range out {
		if ok[i] {
			kept = append(kept, out[i])
		}
	}
	if skipped := len(out) - len(kept); skipped > 0 {
		e.CountSkipped(int64(skipped))
		clear(out[len(kept):]) // release what the skipped rows held
	}
	return kept
}

// decodeValue decodes one stored value into v; strict refuses fields that
// T does not have. A json.RawMessage (what the command line reads) only
// needs the validity check and the copy that json.Unmarshal would make,
// without its reflection.
func decodeValue[T any](js string, v *T, strict bool) error {
	if raw, ok := any(v).(*json.RawMessage); ok {
		b := []byte(js)
		if !json.Valid(b) {
			return errors.New("invalid JSON")
		}
		*raw = b
		return nil
	}
	if !strict {
		return json.Unmarshal([]byte(js), v)
	}
	dec := json.NewDecoder(strings.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("invalid JSON: more than one value")
	}
	return nil
}

// decodeOne decodes one row, or skips it (logged and counted).
func decodeOne[T any](e *core.DB, row core.Row, strict bool) (Record[T], bool) {
	var rec Record[T]
	if err := decodeValue(row.ValueJSON, &rec.Value, strict); err != nil {
		e.Logger().Warn("rechist: skipping a row that does not decode",
			slog.String(core.LogKeyRecord, row.Name), slog.Int64(core.LogKeyID, row.ID),
			slog.String(core.LogKeyType, typeName[T]()), slog.Any(core.LogKeyError, err))
		e.CountSkipped(1)
		return rec, false
	}
	rec.Name, rec.StoredAt = row.Name, fromMillis(row.StoredAt)
	return rec, true
}

// parallelDecodeRows is the least number of rows worth a decoding goroutine.
const parallelDecodeRows = 2048
