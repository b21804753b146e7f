package rechist

import (
	"context"
	"iter"
)

// Timeline streams the records matching pattern within p in time order:
// StoredAt ascending, then record name bytewise, then insert order (the
// order of AimX record.query and /api/query). Values are decoded into T as
// in [Repo.All]: rows that do not decode are skipped and counted.
// p.LimitPerRecord keeps the newest LimitPerRecord rows of each record
// (0: all rows), still streamed oldest first.
//
// Unlike All, Timeline does not read one snapshot: it reads the range in
// windows of time, each window its own snapshot, so rows stored while the
// loop runs may or may not appear (the per-record limit still holds).
// Memory is bounded by one window (about 10,000 rows or 16 MiB), however
// many rows the range holds; a single millisecond holding more rows than
// that is read whole. Breaking out of the loop stops the stream. An error
// (bad argument, ctx, I/O) is yielded once, as the last element.
func (r *Repo[T]) Timeline(ctx context.Context, pattern string, p QueryParams) iter.Seq2[Record[T], error] {
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
		for row, err := range r.db.core.Timeline(ctx, pattern, rng) {
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
