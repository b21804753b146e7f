package rechist

import (
	"context"
	"iter"

	"github.com/seed178a96f3/rechist/internal/core"
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
	return r.decoded(p, func(rng core.Range) iter.Seq2[core.Row, error] { return r.db.core.Timeline(ctx, pattern, rng) })
}
