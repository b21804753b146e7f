package core

import (
	"context"
	"slices"
)

// BlockMerger is a TierStore that adds buckets to its blocks where it
// stores them: one upsert a block, with no read of the block first. A
// late-row storm makes most of the blocks it touches, and reading each
// before writing it cost about a quarter of its rollup.
type BlockMerger interface {
	// MergeBlocks adds the buckets of each block (its Data a block's
	// encoding) to the stored block of its key as MergeBlockData does,
	// or stores it as it is where there is none; the keys are all
	// different.
	MergeBlocks(ctx context.Context, bs []TierBlock) error
}

// MergeBlockData returns the block old with the buckets of the block
// delta added: a bucket of both merged (RollupState.Merge), one of
// either kept. It is the merge a BlockMerger's store runs.
//
// An entry's times are relative to its bucket's start, the same in both
// blocks; decoded at a start and width of 0 they stay relative, and merge
// as the absolute ones would.
func MergeBlockData(old, delta []byte) ([]byte, error) {
	o, err := decodeBlock(0, 0, old)
	if err != nil {
		return nil, err
	}
	d, err := decodeBlock(0, 0, delta)
	if err != nil {
		return nil, err
	}
	// Where the delta's paths are the first of the stored block's (values
	// of one shape: nearly always), an entry means the same in both, and a
	// bucket only the delta has is copied as it is, not decoded and
	// encoded again. Paths the merges below add go after them.
	samePaths := len(d.paths) <= len(o.paths) && slices.EqualFunc(d.paths, o.paths[:len(d.paths)], slices.Equal[[]string])
	for slot, e := range d.slots {
		if e == nil {
			continue
		}
		if samePaths && o.slots[slot] == nil {
			o.slots[slot] = e
			continue
		}
		st, err := d.state(slot)
		if err != nil {
			return nil, err
		}
		if o.slots[slot] != nil {
			cur, err := o.state(slot)
			if err != nil {
				return nil, err
			}
			cur.Merge(st)
			st = cur
		}
		o.set(slot, st)
	}
	return o.encode(), nil
}

// mergeBuckets is addToBuckets for a BlockMerger: each block's delta
// encoded as a block of its own and merged where it is stored.
func mergeBuckets(ctx context.Context, m BlockMerger, delta *bucketDelta) error {
	puts := make([]TierBlock, 0, min(delta.size(), blocksAtOnce))
	// The blocks' entries and encodings are appended to two buffers, not
	// allocated one by one: a slice taken from one stays valid when it
	// grows (it keeps the array it was cut from, which nothing changes).
	var entries, arena []byte
	b := newBlock(0, 0)
	err := delta.eachBlock(func(bs *blockStates) error {
		if len(puts) == 0 {
			arena = make([]byte, 0, 96*cap(puts))
		}
		k := bs.key
		*b = block{at: k.at, every: k.every, paths: b.paths[:0]}
		entries = entries[:0]
		for j := range bs.n {
			if bs.states[j].Rows == 0 {
				continue
			}
			slot := b.slotOf(bs.buckets[j])
			start := len(entries)
			entries = b.appendState(entries, b.bucketAt(slot), bs.states[j])
			b.slots[slot] = entries[start:len(entries):len(entries)]
		}
		start := len(arena)
		arena = b.appendEncoded(arena)
		puts = append(puts, TierBlock{Name: k.name, EveryMs: k.every, BlockMs: k.at, Data: arena[start:len(arena):len(arena)]})
		if len(puts) < blocksAtOnce {
			return nil
		}
		err := m.MergeBlocks(ctx, puts)
		puts = puts[:0]
		return err
	})
	if err == nil && len(puts) > 0 {
		err = m.MergeBlocks(ctx, puts)
	}
	return err
}
