package core

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
)

// Rollup tiers: each record a policy with tiers governs keeps, besides its
// raw rows, buckets of every tier's width (RollupState), eight to a
// block (rollup_block.go).
// They are exact at all times, whatever is killed when:
//   - rows roll up in id order past a cursor (the highest id the buckets
//     include), the buckets and the cursor moving in one transaction
//     (rollupStep), so no row is counted twice or lost, and rows of other
//     processes (the Rust crate's too) and late rows roll up like any;
//   - retention deletes a raw row only at or below the cursor
//     (DeleteRolledUp), and a bucket only when its tier's keep has passed;
//   - a policy change adds a tier's buckets from the raw rows at or below
//     the cursor and drops a tier no longer wanted, in the transaction
//     that stores the policy (reconcile);
//   - Delete adjusts the buckets its range touches in the transaction of
//     each chunk it deletes (adjustForDelete).

// rollupRows is how many rows a rollup step reads at a time (a page); a
// step, one transaction, reads up to rollupStepPages pages, and writes
// what it gathered into the blocks at its end, or before when it holds
// rollupStepEntries entries (a row and tier each, bucketDelta): a record
// that stores all the time costs one block write per tier a step, however
// many rows it stored. The step's memory is bounded by its pages (the
// rows it keeps) and the entries, not by the rows behind the cursor. A
// page of blocks that several writes of one step change goes to the log
// once, at the commit: a late-row storm touches most pages of the blocks
// each time (100k rows over 30 days, rolled up in 16k-row steps, one a
// transaction: 2.3-4.1 s; in one: 1.9-2.5 s). Writing early costs a
// record's block write again: with a write every 32,768 entries, 100k rows
// of 1,000 records (StoreMany) merged 12,000 blocks rather than 2,000.
const (
	rollupRows        = 16384
	rollupStepPages   = 8
	rollupStepEntries = 1 << 20 // 24 MiB of entries: eight tiers of a step's rows
)

// hasTiers says whether any policy has tiers.
func hasTiers(pols []Policy) bool {
	for _, p := range pols {
		if len(p.Tiers) > 0 {
			return true
		}
	}
	return false
}

// tiersOf returns the tiers of the policy that governs name.
func (s policySet) tiersOf(name string) []Tier {
	if p, ok := s.forName(name); ok {
		return p.Tiers
	}
	return nil
}

// bucketStart is the start of the bucket of width every that holds ms;
// math.MinInt64 for the bucket that would start before it (a bound, for
// a range from the beginning of time).
func bucketStart(ms, every int64) int64 {
	b := ms / every * every
	if ms < 0 && b != ms {
		if b < math.MinInt64+every {
			return math.MinInt64
		}
		b -= every
	}
	return b
}

// expired says whether the bucket of tier t starting at b has outlived
// its keep at nowMs.
func (t Tier) expired(b, nowMs int64) bool {
	return t.KeepMs > 0 && b+t.EveryMs <= nowMs-t.KeepMs
}

// bucketKey names one bucket.
type bucketKey struct {
	name      string
	every, at int64
}

// addToBuckets merges delta into the stored buckets, creating them as
// needed: each block touched once for all its buckets, read and written,
// or on a BlockMerger merged where it is stored.
func addToBuckets(ctx context.Context, s TierStore, delta *bucketDelta) error {
	if m, ok := s.(BlockMerger); ok {
		return mergeBuckets(ctx, m, delta)
	}
	// The blocks are read blocksAtOnce at a time: one statement, not one
	// a block (a late-row storm touches one or two a row).
	chunk := make([]blockStates, 0, min(delta.size(), blocksAtOnce))
	puts := make([]TierBlock, 0, cap(chunk))
	want := make([]TierBlock, 0, cap(chunk))
	stored := map[bucketKey][]byte{}
	write := func() error {
		want = want[:0]
		for _, d := range chunk {
			want = append(want, TierBlock{Name: d.key.name, EveryMs: d.key.every, BlockMs: d.key.at})
		}
		got, err := s.BlocksAt(ctx, want)
		if err != nil {
			return err
		}
		clear(stored)
		for _, b := range got {
			stored[bucketKey{b.Name, b.EveryMs, b.BlockMs}] = b.Data
		}
		for _, d := range chunk {
			k := d.key
			b := newBlock(k.at, k.every)
			if data, ok := stored[k]; ok {
				if b, err = decodeBlock(k.at, k.every, data); err != nil {
					return err
				}
			}
			for j := range d.n {
				slot := b.slotOf(d.buckets[j])
				if b.slots[slot] == nil {
					b.set(slot, d.states[j]) // a new bucket: the delta as it is
					continue
				}
				st, err := b.state(slot)
				if err != nil {
					return err
				}
				st.Merge(d.states[j])
				b.set(slot, st)
			}
			puts = append(puts, TierBlock{Name: k.name, EveryMs: k.every, BlockMs: k.at, Data: b.encode()})
		}
		// Buckets only gain rows here: every block has data to write.
		if err := s.PutBlocks(ctx, puts); err != nil {
			return err
		}
		puts, chunk = puts[:0], chunk[:0]
		return nil
	}
	err := delta.eachBlock(func(bs *blockStates) error {
		c := *bs // the walk reuses bs and its states' fields
		for j := range c.n {
			c.states[j].Fields = slices.Clone(c.states[j].Fields)
		}
		if chunk = append(chunk, c); len(chunk) == blocksAtOnce {
			return write()
		}
		return nil
	})
	if err == nil && len(chunk) > 0 {
		err = write()
	}
	return err
}

// blocksAtOnce is how many blocks addToBuckets reads in one statement
// (and writes with one PutBlocks).
const blocksAtOnce = 512

// compareKeys orders bucket keys by name, width and start.
func compareKeys(a, b bucketKey) int {
	if c := strings.Compare(a.name, b.name); c != 0 {
		return c
	}
	if c := cmp.Compare(a.every, b.every); c != 0 {
		return c
	}
	return cmp.Compare(a.at, b.at)
}

// loadBlock reads the block of (name, every) starting at at, empty when
// it is not stored.
func loadBlock(ctx context.Context, s TierStore, name string, every, at int64) (*block, error) {
	got, err := s.Blocks(ctx, name, every, at, at)
	if err != nil || len(got) == 0 {
		return newBlock(at, every), err
	}
	return decodeBlock(at, every, got[0].Data)
}

// storeBlock writes b, or deletes it when it has no bucket left.
func storeBlock(ctx context.Context, s TierStore, name string, b *block) error {
	data := b.encode()
	if data == nil {
		_, err := s.DeleteBlocks(ctx, name, b.every, b.at, b.at)
		return err
	}
	return s.PutBlock(ctx, TierBlock{Name: name, EveryMs: b.every, BlockMs: b.at, Data: data})
}

// eachBucket calls fn with each stored bucket of (name, every) whose
// start is within [fromMs, toMs], ascending.
func eachBucket(ctx context.Context, s TierStore, name string, every, fromMs, toMs int64, fn func(b *block, slot int, st RollupState) error) error {
	bs, err := s.Blocks(ctx, name, every, blockStart(fromMs, every), blockStart(toMs, every))
	if err != nil {
		return err
	}
	for _, raw := range bs {
		b, err := decodeBlock(raw.BlockMs, every, raw.Data)
		if err != nil {
			return err
		}
		for slot := range blockBuckets {
			if at := b.bucketAt(slot); b.slots[slot] == nil || at < fromMs || at > toMs {
				continue
			}
			st, err := b.state(slot)
			if err == nil {
				err = fn(b, slot, st)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// rollupStep rolls rows past the cursor, read in pages of limit rows (see
// rollupRows), into the buckets of their records' tiers and moves the
// cursor past them, and returns how many rows it read (0: the tiers are
// up to date). With no cursor yet it
// starts the tiers when a policy has some (startTiers).
func rollupStep(ctx context.Context, s TierStore, nowMs int64, limit int) (int64, error) {
	pols, err := s.Policies(ctx)
	if err != nil {
		return 0, err
	}
	cursor, ok, err := s.RollupCursor(ctx)
	if err != nil || !ok {
		if err == nil && hasTiers(pols) {
			err = startTiers(ctx, s, pols, nowMs)
		}
		return 0, err
	}
	set, _ := newPolicySet(pols)
	delta := newDelta()
	defer freeDelta(delta)
	tiers := map[string]recordTiers{}
	st := stepTiers{s: s, ready: map[string]bool{}}
	var read int64
	for pages := 0; pages < rollupStepPages; pages++ {
		rows, err := s.RowsAfter(ctx, cursor, limit)
		if err != nil {
			return 0, err
		}
		if len(rows) == 0 {
			break
		}
		read += int64(len(rows))
		cursor = rows[len(rows)-1].ID
		addRows(rows, set, tiers, delta, nowMs)
		if delta.size() >= rollupStepEntries {
			// Into the blocks now, in this transaction: the step's memory
			// stays bounded by the entries, and a page of blocks that
			// several flushes change is written to the log once, at the
			// commit (a late-row storm touches most pages of the blocks
			// a flush).
			if err := st.flush(ctx, tiers, delta); err != nil {
				return 0, err
			}
			delta.reset()
		}
		if len(rows) < limit {
			break
		}
	}
	if read == 0 {
		return 0, nil
	}
	if err := st.flush(ctx, tiers, delta); err != nil {
		return 0, err
	}
	return read, s.SetRollupCursor(ctx, cursor)
}

// stepTiers gives the records of one rollup step their tiers before
// their buckets are added, each record once a step.
type stepTiers struct {
	s     TierStore
	ready map[string]bool // records whose tiers this step has seen to
	skip  map[tierKey]bool
}

// tierKey names one record's tier.
type tierKey struct {
	name  string
	every int64
}

// flush adds delta to the stored buckets. A record seen for the first
// time gets its tiers, complete from the start: all its rows come
// through here. A tier marked to be filled (fillStep) is left alone: its
// fill reads these rows too.
func (st *stepTiers) flush(ctx context.Context, tiers map[string]recordTiers, delta *bucketDelta) error {
	s := st.s
	for name, rt := range tiers {
		ts := rt.tiers
		if len(ts) == 0 || st.ready[name] {
			continue
		}
		st.ready[name] = true
		have, err := s.TierWidths(ctx, name)
		if err != nil {
			return err
		}
		var marked []int64
		read := false // marked is read when a tier is missing
		for _, t := range ts {
			if slices.Contains(have, t.EveryMs) {
				continue
			}
			if !read {
				if marked, err = s.FillWidths(ctx, name); err != nil {
					return err
				}
				read = true
			}
			if slices.Contains(marked, t.EveryMs) {
				if st.skip == nil {
					st.skip = map[tierKey]bool{}
				}
				st.skip[tierKey{name, t.EveryMs}] = true
				continue
			}
			if err := s.SetTier(ctx, name, t.EveryMs, math.MinInt64); err != nil {
				return err
			}
		}
	}
	if st.skip != nil {
		delta.drop(st.skip)
	}
	return addToBuckets(ctx, s, delta)
}

// recordTiers are a record's tiers, and its name as every bucket key of
// a step holds it: one string for all of them, so that comparing two keys
// of one record does not compare its bytes.
type recordTiers struct {
	name  string
	id    int32 // the name's id in the step's delta
	tiers []Tier
}

// addRows adds rows to the buckets of their records' tiers in delta
// (tiers caches each record's tiers).
func addRows(rows []Row, set policySet, tiers map[string]recordTiers, delta *bucketDelta, nowMs int64) {
	first := delta.addPage(rows)
	for i, row := range rows {
		rt, seen := tiers[row.Name]
		if !seen {
			rt = recordTiers{name: row.Name, id: delta.nameID(row.Name), tiers: set.tiersOf(row.Name)}
			tiers[row.Name] = rt
		}
		for _, t := range rt.tiers {
			b := bucketStart(row.StoredAt, t.EveryMs)
			if t.expired(b, nowMs) {
				continue // a late row for a bucket its tier no longer keeps
			}
			delta.add(rt.id, t.EveryMs, b, first+int32(i))
		}
	}
}

// startTiers sets the cursor at the newest row and fills every record's
// tiers from its raw rows: the first policy with tiers.
func startTiers(ctx context.Context, s TierStore, pols []Policy, nowMs int64) error {
	maxID, err := s.MaxID(ctx)
	if err != nil {
		return err
	}
	if err := s.SetRollupCursor(ctx, maxID); err != nil {
		return err
	}
	return reconcile(ctx, s, pols, nowMs)
}

// reconcile makes every record's buckets those of its policy's tiers: it
// drops the buckets of widths its policy no longer has, and fills a
// width it has no buckets of from its raw rows at or below the cursor.
func reconcile(ctx context.Context, s TierStore, pols []Policy, nowMs int64) error {
	cursor, ok, err := s.RollupCursor(ctx)
	if err != nil || !ok {
		return err
	}
	set, _ := newPolicySet(pols)
	all, err := CompilePattern("rollup", "*")
	if err != nil {
		return err
	}
	return mergedNames(all,
		func(after string) ([]string, error) { return s.Names(ctx, after, namesPage) },
		func(after string) ([]string, error) { return s.TierNames(ctx, all, after, namesPage) },
		func(name string) (bool, error) {
			return true, reconcileRecord(ctx, s, name, set.tiersOf(name), cursor, nowMs)
		})
}

// reconcileRecord gives the record name the tiers want: one it lacks is
// filled now from a finer tier it has (its buckets, a bounded read), else
// marked to be filled from its raw rows in a transaction of its own
// (fillStep); the tiers and marks it no longer wants go.
func reconcileRecord(ctx context.Context, s TierStore, name string, want []Tier, cursor, nowMs int64) error {
	have, err := s.TierWidths(ctx, name)
	if err != nil {
		return err
	}
	marked, err := s.FillWidths(ctx, name)
	if err != nil {
		return err
	}
	wanted := func(w int64) bool { return slices.ContainsFunc(want, func(t Tier) bool { return t.EveryMs == w }) }
	for _, t := range want {
		switch {
		case slices.Contains(have, t.EveryMs), slices.Contains(marked, t.EveryMs):
		case finerSource(t, have) != 0:
			if err := fillTier(ctx, s, name, t, have, cursor, nowMs); err != nil {
				return err
			}
		default:
			if err := s.MarkFill(ctx, name, t.EveryMs); err != nil {
				return err
			}
		}
	}
	for _, w := range have {
		if !wanted(w) {
			if err := s.DeleteTier(ctx, name, w); err != nil {
				return err
			}
		}
	}
	for _, w := range marked {
		if !wanted(w) {
			if err := s.UnmarkFill(ctx, name, w); err != nil {
				return err
			}
		}
	}
	return nil
}

// finerSource is the coarsest of the widths have that divides t's (0:
// none), the tier fillTier fills t from.
func finerSource(t Tier, have []int64) (src int64) {
	for _, w := range have {
		if t.EveryMs%w == 0 {
			src = w
		}
	}
	return src
}

// fillStep fills the first marked tier (reconcileRecord) in the calling
// transaction: from a finer tier the record has by now, else from its raw
// rows at or below the cursor, then removes the mark. It returns 0 when
// no tier is marked. While a tier is marked the rollup leaves it out
// (rollupStep) and retention keeps the record's raw rows
// (deleteRolledUp), so the rows the fill reads are all those it must:
// the ones the cursor has passed, Delete's aside.
func fillStep(ctx context.Context, s TierStore, nowMs int64) (int64, error) {
	name, every, ok, err := s.FirstFill(ctx)
	if err != nil || !ok {
		return 0, err
	}
	pols, err := s.Policies(ctx)
	if err != nil {
		return 0, err
	}
	set, _ := newPolicySet(pols)
	want := set.tiersOf(name)
	i := slices.IndexFunc(want, func(t Tier) bool { return t.EveryMs == every })
	have, err := s.TierWidths(ctx, name)
	if err != nil {
		return 0, err
	}
	cursor, ok, err := s.RollupCursor(ctx)
	if err != nil {
		return 0, err
	}
	if i >= 0 && ok && !slices.Contains(have, every) {
		if err := fillTier(ctx, s, name, want[i], have, cursor, nowMs); err != nil {
			return 0, err
		}
	}
	return 1, s.UnmarkFill(ctx, name, every)
}

// fillTier gives the record name the tier t: from the buckets of the
// coarsest tier it has whose width divides t's (complete as far back as
// that one is), else from its raw rows at or below the cursor (complete
// from its horizon on: rows retention deleted are not there to count).
func fillTier(ctx context.Context, s TierStore, name string, t Tier, have []int64, cursor, nowMs int64) error {
	byBucket := map[bucketKey]*RollupState{}
	add := func(at int64, st RollupState) {
		b := bucketStart(at, t.EveryMs)
		if t.expired(b, nowMs) {
			return
		}
		k := bucketKey{name, t.EveryMs, b}
		if byBucket[k] == nil {
			byBucket[k] = &RollupState{}
		}
		byBucket[k].Merge(st)
	}
	from := int64(math.MinInt64) // complete from the start
	if src := finerSource(t, have); src != 0 {
		f, _, err := s.TierFrom(ctx, name, src)
		if err != nil {
			return err
		}
		from = f
		err = eachBucket(ctx, s, name, src, math.MinInt64, math.MaxInt64, func(b *block, slot int, st RollupState) error {
			add(b.bucketAt(slot), st)
			return nil
		})
		if err != nil {
			return err
		}
	} else {
		h, err := s.Horizon(ctx, name)
		if err != nil {
			return err
		}
		if h != 0 {
			from = h
		}
		err = s.RecordRows(ctx, name, math.MinInt64, math.MaxInt64, cursor, func(row Row) bool {
			var st RollupState
			st.Add(row)
			add(row.StoredAt, st)
			return true
		})
		if err != nil {
			return err
		}
	}
	if from != math.MinInt64 {
		// The bucket that holds from may lack rows before it.
		if b := bucketStart(from, t.EveryMs); b != from {
			from = b + t.EveryMs
		}
	}
	if err := s.SetTier(ctx, name, t.EveryMs, from); err != nil {
		return err
	}
	delta := &bucketDelta{}
	for k, st := range byBucket {
		delta.addState(k, *st)
	}
	return addToBuckets(ctx, s, delta)
}

// changePolicy stores or removes a policy and reconciles the tiers with
// the policies that result, in one transaction; for a removal it returns
// 0 when there was no such policy.
func changePolicy(ctx context.Context, s TierStore, p Policy, remove bool, nowMs int64) (int64, error) {
	before, err := s.Policies(ctx)
	if err != nil {
		return 0, err
	}
	if remove {
		found, err := s.RemovePolicy(ctx, p.Pattern, p.Lang)
		if err != nil || !found {
			return 0, err
		}
	} else if err := s.SetPolicy(ctx, p); err != nil {
		return 0, err
	}
	after, err := s.Policies(ctx)
	if err != nil {
		return 0, err
	}
	_, ok, err := s.RollupCursor(ctx)
	switch {
	case err != nil:
		return 0, err
	case !ok && hasTiers(after):
		err = startTiers(ctx, s, after, nowMs)
	case ok && (hasTiers(before) || hasTiers(after)):
		// Rows past the cursor first, under the policies they were
		// stored under, then the change.
		for {
			n, err := rollupStepWith(ctx, s, before, nowMs, rollupRows)
			if err != nil {
				return 0, err
			}
			if n == 0 {
				break
			}
		}
		err = reconcile(ctx, s, after, nowMs)
	}
	return 1, err
}

// rollupStepWith is rollupStep under the given policies (the ones before
// a change, whose transaction has already stored the new ones).
func rollupStepWith(ctx context.Context, s TierStore, pols []Policy, nowMs int64, limit int) (int64, error) {
	return rollupStep(ctx, policyOverride{TierStore: s, pols: pols}, nowMs, limit)
}

// policyOverride is a TierStore whose Policies are given.
type policyOverride struct {
	TierStore
	pols []Policy
}

func (p policyOverride) Policies(context.Context) ([]Policy, error) { return p.pols, nil }
