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

// BenchmarkRollupStormGo is the Go side of a late-row storm's rollup (bench
// step tiers: 100,000 rows of 1,000 records spread over 30 days, tiers 1m
// and 1h): the rows into buckets (addRows), the buckets into encoded
// blocks (addToBuckets), no database.
func BenchmarkRollupStormGo(b *testing.B) {
	now := time.Now().UnixMilli()
	const n, records = 100_000, 1000
	span := int64(30 * 24 * time.Hour / time.Millisecond)
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{ID: int64(i + 1), Name: fmt.Sprintf("bench::rec%04d", i%records),
			ValueJSON: fmt.Sprintf(`{"v":0.5,"seq":%d}`, i), StoredAt: now - rng.Int64N(span)}
	}
	set, _ := newPolicySet([]Policy{{Pattern: "*", Lang: LangWildcard, RawKeepMs: 90 * 24 * 3600_000,
		Tiers: []Tier{{EveryMs: 60_000, KeepMs: 90 * 24 * 3600_000}, {EveryMs: 3600_000}}}})
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
}
