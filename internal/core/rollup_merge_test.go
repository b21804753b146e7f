package core

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// MergeBlockData, which decodes both blocks at a start of 0, gives exactly
// the block that decoding the stored one at its own start and merging the
// new buckets into it gives (what addToBuckets does on an engine without
// BlockMerger), for buckets of both, of either, and of neither.
func TestMergeBlockDataMatchesMergingDecodedBuckets(t *testing.T) {
	t.Run("random shapes", func(t *testing.T) { checkMergeBlockData(t, 21, randomState) })
	// Values of one shape: both blocks have the same paths, and a bucket
	// only the delta has is copied as it is (or the delta has only the
	// first path, a number with no field, and the stored block more).
	t.Run("one shape", func(t *testing.T) { checkMergeBlockData(t, 23, oneShapeState) })
	if _, err := MergeBlockData([]byte{blockVersion, 0, 9}, []byte{blockVersion, 0}); !errors.Is(err, errBlockDamaged) {
		t.Fatalf("a damaged stored block: %v, want errBlockDamaged", err)
	}
}

// oneShapeState is a state of 1-5 rows of {"a":X,"b":{"c":Y}}, or of a
// bare number.
func oneShapeState(rng *rand.Rand, at, every int64) RollupState {
	var s RollupState
	bare := rng.IntN(4) == 0
	for range 1 + rng.IntN(5) {
		v := fmt.Sprintf(`{"a":%d,"b":{"c":%g}}`, rng.IntN(1000), rng.Float64())
		if bare {
			v = fmt.Sprint(rng.IntN(1000))
		}
		s.Add(Row{ID: rng.Int64N(1 << 40), Name: "n", ValueJSON: v, StoredAt: at + rng.Int64N(every)})
	}
	return s
}

func checkMergeBlockData(t *testing.T, seed uint64, gen func(*rand.Rand, int64, int64) RollupState) {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	for round := range 400 {
		every := int64(1000 * (1 + rng.IntN(3600)))
		at := blockStart(rng.Int64N(4e12)-2e12, every)
		old, delta, want := newBlock(at, every), newBlock(at, every), newBlock(at, every)
		for slot := range blockBuckets {
			var o, d RollupState
			if rng.IntN(3) > 0 {
				o = gen(rng, old.bucketAt(slot), every)
				old.set(slot, o)
			}
			if rng.IntN(3) > 0 {
				d = gen(rng, delta.bucketAt(slot), every)
				delta.set(slot, d)
			}
			o.Merge(d)
			want.set(slot, o)
		}
		if old.encode() == nil || delta.encode() == nil {
			continue // the store has no block, or the rollup nothing for it
		}
		data, err := MergeBlockData(old.encode(), delta.encode())
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		got, err := decodeBlock(at, every, data)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for slot := range blockBuckets {
			g, err := got.state(slot)
			if err != nil {
				t.Fatalf("round %d slot %d: %v", round, slot, err)
			}
			w, _ := want.state(slot)
			if stateText(g) != stateText(w) {
				t.Fatalf("round %d slot %d:\ngot  %swant %s", round, slot, stateText(g), stateText(w))
			}
		}
	}
}
