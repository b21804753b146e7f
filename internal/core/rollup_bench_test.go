package core

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// mergeCounter is a TierStore whose MergeBlocks only counts what it is
// given: the Go side of a rollup, without the database.
type mergeCounter struct {
	TierStore
	blocks, bytes int
}

func (m *mergeCounter) MergeBlocks(_ context.Context, bs []TierBlock) error {
	m.blocks += len(bs)
	for _, b := range bs {
		m.bytes += len(b.Data)
	}
	return nil
}

// BenchmarkRollupGo is the Go side of a rollup step (bench step tiers),
// the rows into buckets (addRows) and the buckets into encoded blocks
// (addToBuckets), without the database: 100,000 rows of 1,000 records
// with tiers 1m and 1h, spread over 30 days (storm: nearly every bucket
// one row) or all at one time (bulk: 100 rows a bucket).
func BenchmarkRollupGo(b *testing.B) {
	now := time.Now().UnixMilli()
	const n, records = 100_000, 1000
	span := int64(30 * 24 * time.Hour / time.Millisecond)
	set, _ := newPolicySet([]Policy{{Pattern: "*", Lang: LangWildcard, RawKeepMs: 90 * 24 * 3600_000,
		Tiers: []Tier{{EveryMs: 60_000, KeepMs: 90 * 24 * 3600_000}, {EveryMs: 3600_000}}}})
	for _, c := range []struct {
		name string
		at   func(rng *rand.Rand) int64
	}{
		{"storm", func(rng *rand.Rand) int64 { return now - rng.Int64N(span) }},
		{"bulk", func(*rand.Rand) int64 { return now }},
	} {
		b.Run(c.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			rows := make([]Row, n)
			for i := range rows {
				rows[i] = Row{ID: int64(i + 1), Name: fmt.Sprintf("bench::rec%04d", i%records),
					ValueJSON: fmt.Sprintf(`{"v":0.5,"seq":%d}`, i), StoredAt: c.at(rng)}
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				delta := newDelta()
				addRows(rows, set, map[string]recordTiers{}, delta, now)
				m := &mergeCounter{}
				if err := addToBuckets(ctx, m, delta); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(m.blocks), "blocks/op")
				freeDelta(delta)
			}
		})
	}
}

// BenchmarkMergeBlockData merges a block's bucket of 100 rows into a
// stored block holding that bucket (a record storing all the time: the
// background rollup's common merge).
func BenchmarkMergeBlockData(b *testing.B) {
	const every = 60_000
	state := func(first int) RollupState {
		var s RollupState
		for i := range 100 {
			s.Add(Row{ID: int64(first + i), StoredAt: int64(first+i) * 100, ValueJSON: fmt.Sprintf(`{"v":0.5,"seq":%d}`, first+i)})
		}
		return s
	}
	old, delta := newBlock(0, every), newBlock(0, every)
	old.set(0, state(1))
	delta.set(0, state(101))
	o, d := old.encode(), delta.encode()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MergeBlockData(o, d); err != nil {
			b.Fatal(err)
		}
	}
}
