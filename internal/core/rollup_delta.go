package core

import (
	"cmp"
	"slices"
	"strings"
)

// bucketDelta is what a rollup adds to the buckets: one entry for each
// row and tier (or state and bucket), not a state for each bucket. The
// entries are sorted once and walked block by block, each bucket's state
// made as its block is written and dropped after: a late-row storm, whose
// rows nearly all land in buckets of their own, costs no map of its
// buckets, no allocation for each, and no sort of pointers to them (the
// Go side of a storm's rollup of 100,000 rows went from 470 to 70-80 ms,
// BenchmarkRollupGo/storm).
type bucketDelta struct {
	names   []string         // by id
	ids     map[string]int32 // names' ids
	pages   [][]Row          // the rows entries refer to, as they were read
	nRows   int32            // rows in pages
	states  []RollupState
	entries []deltaEntry
	sorted  []deltaEntry // sort's other array, kept for the next
}

// deltaEntry is one row (src >= 0: the src-th row of the pages) or state
// (src < 0: states[-1-src]) added to the bucket of the name whose id is
// name (whose rank, after sort) and width every starting at at. It holds
// no pointer: sorting moves it as bytes, and the collector skips it.
type deltaEntry struct {
	name, src int32
	every, at int64
}

// spareDelta keeps the delta of a finished rollup step for the next one:
// a step of 100k rows holds hundreds of thousands of entries, and arrays
// grown anew each step, in a heap a store has just filled, cost more in
// page faults and the collector's assists than the step's own work
// (StoreMany of 100k rows with two tiers: a step's entries took 5 ms
// kept, 75-93 ms grown again). A sync.Pool is emptied by the collection
// a large store brings; this keeps one delta, its arrays at most
// rollupStepEntries entries (24 MiB; 5 MiB after a 100k-row step of two
// tiers) and empty of rows.
var spareDelta = make(chan *bucketDelta, 1)

// newDelta returns an empty delta; freeDelta gives it back when done.
func newDelta() *bucketDelta {
	select {
	case d := <-spareDelta:
		return d
	default:
		return new(bucketDelta)
	}
}

func freeDelta(d *bucketDelta) {
	if cap(d.entries) > rollupStepEntries || cap(d.sorted) > rollupStepEntries {
		return
	}
	d.reset()
	clear(d.names)
	d.names, d.ids = d.names[:0], nil
	select {
	case spareDelta <- d:
	default:
	}
}

// nameID is name's id in d.
func (d *bucketDelta) nameID(name string) int32 {
	id, ok := d.ids[name]
	if !ok {
		if d.ids == nil {
			d.ids = map[string]int32{}
		}
		id = int32(len(d.names))
		d.names = append(d.names, name)
		d.ids[name] = id
	}
	return id
}

// addPage keeps rows for entries to refer to, and returns the src of
// the first (the next ones follow).
func (d *bucketDelta) addPage(rows []Row) int32 {
	d.pages = append(d.pages, rows)
	first := d.nRows
	d.nRows += int32(len(rows))
	return first
}

// row returns the row src.
func (d *bucketDelta) row(src int32) Row {
	for _, p := range d.pages {
		if int(src) < len(p) {
			return p[src]
		}
		src -= int32(len(p))
	}
	panic("rollup: no such row")
}

// add adds the row or state src to the bucket (name's id, every, at).
func (d *bucketDelta) add(name int32, every, at int64, src int32) {
	d.entries = append(d.entries, deltaEntry{name: name, src: src, every: every, at: at})
}

// addState adds st to the bucket k.
func (d *bucketDelta) addState(k bucketKey, st RollupState) {
	d.states = append(d.states, st)
	d.add(d.nameID(k.name), k.every, k.at, -int32(len(d.states)))
}

// size is how many entries d holds: what bounds a rollup step's memory.
func (d *bucketDelta) size() int { return len(d.entries) }

// reset empties d of rows, states and entries, keeping its arrays and
// the names' ids.
func (d *bucketDelta) reset() {
	clear(d.pages)
	clear(d.states)
	d.pages, d.nRows, d.states, d.entries = d.pages[:0], 0, d.states[:0], d.entries[:0]
}

// drop removes the entries of the tiers skip names.
func (d *bucketDelta) drop(skip map[tierKey]bool) {
	d.entries = slices.DeleteFunc(d.entries, func(e deltaEntry) bool { return skip[tierKey{d.names[e.name], e.every}] })
}

// sort orders the entries by name (bytewise), width and bucket start: the
// order of the blocks' keys. It turns each entry's name id into the
// name's rank; byRank is the names by rank.
func (d *bucketDelta) sort() (byRank []string) {
	order := make([]int32, len(d.names))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(d.names[a], d.names[b]) })
	rank := make([]int32, len(d.names))
	byRank = make([]string, len(d.names))
	for r, id := range order {
		rank[id], byRank[r] = int32(r), d.names[id]
	}
	// By rank first, counting (one pass to count, one to place), then
	// each rank's entries, a few hundred at most in a step, by width and
	// start: cheaper than one sort of them all.
	start := make([]int, len(byRank)+1)
	for _, e := range d.entries {
		start[rank[e.name]+1]++
	}
	for r := range byRank {
		start[r+1] += start[r]
	}
	d.sorted = slices.Grow(d.sorted[:0], len(d.entries))[:len(d.entries)]
	next := slices.Clone(start[:len(byRank)])
	for _, e := range d.entries {
		r := rank[e.name]
		e.name = r
		d.sorted[next[r]] = e
		next[r]++
	}
	d.entries, d.sorted = d.sorted, d.entries
	for r := range byRank {
		slices.SortFunc(d.entries[start[r]:start[r+1]], func(a, b deltaEntry) int {
			if c := cmp.Compare(a.every, b.every); c != 0 {
				return c
			}
			return cmp.Compare(a.at, b.at)
		})
	}
	return byRank
}

// blockStates are the buckets a delta adds to one block: n of them, by
// start, with their states. A walk (eachBlock) reuses them from block to
// block; a state may hold fields with no number (N 0, from a bucket
// before), which encoding and Merge skip.
type blockStates struct {
	key     bucketKey // key.at: the block's start
	n       int
	buckets [blockBuckets]int64
	states  [blockBuckets]RollupState
}

// eachBlock sorts the entries (sort) and calls fn with the buckets of
// each block they touch, in that order. What fn is given is valid until
// it returns. The entries' names are ranks afterwards: add no more.
func (d *bucketDelta) eachBlock(fn func(bs *blockStates) error) error {
	byRank := d.sort()
	var bs blockStates
	var path []string // the JSON paths' buffer (jsonpath.LeavesBuf)
	es := d.entries
	for i := 0; i < len(es); {
		e := es[i]
		bs.key = bucketKey{byRank[e.name], e.every, blockStart(e.at, e.every)}
		bs.n = 0
		for i < len(es) && es[i].name == e.name && es[i].every == e.every && blockStart(es[i].at, e.every) == bs.key.at {
			at := es[i].at
			// The slot's state keeps its fields' paths from block to
			// block (reset), so adding rows allocates only for a path it
			// has not had; fields without numbers (N 0) are not encoded.
			st := &bs.states[bs.n]
			st.reset()
			for ; i < len(es) && es[i].name == e.name && es[i].every == e.every && es[i].at == at; i++ {
				if src := es[i].src; src >= 0 {
					st.addRow(d.row(src), &path)
				} else {
					st.Merge(d.states[-1-src])
				}
			}
			bs.buckets[bs.n] = at
			bs.n++
		}
		if err := fn(&bs); err != nil {
			return err
		}
	}
	return nil
}
