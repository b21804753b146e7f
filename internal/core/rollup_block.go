package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// A tier stores its buckets in blocks (TierStore): one row per
// record, tier width and blockBuckets consecutive buckets, aligned to the
// epoch. A year of hourly buckets is 1,095 rows rather than 8,760 (what
// reading it costs is mostly per row), and the key is stored once for
// eight buckets.
//
// A block's data is binary:
//
//	version byte (1)
//	uvarint number of paths, then each path: uvarint segments, each a
//	        uvarint length and the bytes (the fields' paths, by index)
//	entries, by slot ascending: slot byte, uvarint length, entry
//
// and an entry (one bucket, RollupState) is
//
//	uvarint flags (entrySingle: one row, first and last the same;
//	        entryRow: entrySingle, and nothing follows the first row)
//	uvarint rows
//	first row: varint ms - bucket start, varint id, uvarint length, JSON
//	last row (unless entrySingle): varint ms - first's, varint id -
//	        first's, uvarint length, JSON
//	uvarint fields, then each: uvarint path index, uvarint flags, and
//	        with fieldOne (one number): [ref] x;
//	        else: uvarint n, sum, min, max, [ref] first x, [ref] last x
//
// A bucket of one row is its row and nothing else (entryRow): its fields
// are the numbers of the row's JSON, RollupState.Add of it, read again
// when it is decoded. A late-row storm makes mostly such buckets; their
// numbers cost 10 bytes a field and the block's paths, about half of a
// block of one bucket. (rechist before entryRow reads such an entry as
// damaged: its fields are missing.)
//
// where a ref, absent when the flag says the number is the first row's
// (fieldFirstIsRow) or the last row's (fieldLastIsRow), is varint ms and
// varint id relative to that row, x is a float64's 8 bytes little-endian
// and sum is DecimalSum's binary form.

// blockBuckets is how many buckets of a tier one block holds.
const blockBuckets = 8

const blockVersion = 1

const (
	entrySingle = 1 << iota
	entryRow
)

const (
	fieldOne = 1 << iota
	fieldFirstIsRow
	fieldLastIsRow
)

// errBlockDamaged is what a block that does not decode fails with.
var errBlockDamaged = errors.New("rechist: a rollup block in the database is damaged")

// blockStart is the start of the block of tier width every that holds ms.
func blockStart(ms, every int64) int64 { return bucketStart(ms, every*blockBuckets) }

// block is a decoded block: its paths and each slot's encoded entry (nil:
// no bucket). Entries are decoded only where needed, and kept as they
// are where not (the paths only grow, so their indexes stay valid).
type block struct {
	at, every int64 // the block's start and its tier's width
	paths     [][]string
	slots     [blockBuckets][]byte
}

// newBlock is an empty block.
func newBlock(at, every int64) *block { return &block{at: at, every: every} }

// decodeBlock reads a stored block.
func decodeBlock(at, every int64, data []byte) (*block, error) {
	b := newBlock(at, every)
	r := binReader{b: data}
	if r.byte() != blockVersion {
		return nil, fmt.Errorf("%w (version)", errBlockDamaged)
	}
	b.paths = r.paths()
	for r.ok() && r.i < len(r.b) {
		slot := int(r.byte())
		n := r.uvarint()
		e := r.bytes(n)
		if slot >= blockBuckets || b.slots[slot] != nil {
			r.bad = true
		}
		if r.ok() {
			b.slots[slot] = e
		}
	}
	if !r.ok() {
		return nil, errBlockDamaged
	}
	return b, nil
}

// encode writes the block as stored; nil when it has no bucket.
func (b *block) encode() []byte {
	size := 16
	empty := true
	for _, e := range b.slots {
		size += len(e) + 4
		empty = empty && e == nil
	}
	if empty {
		return nil
	}
	return b.appendEncoded(make([]byte, 0, size))
}

// appendEncoded appends the block as stored to out (a block with at
// least one bucket).
func (b *block) appendEncoded(out []byte) []byte {
	out = append(out, blockVersion)
	out = binary.AppendUvarint(out, uint64(len(b.paths)))
	for _, p := range b.paths {
		out = binary.AppendUvarint(out, uint64(len(p)))
		for _, s := range p {
			out = binary.AppendUvarint(out, uint64(len(s)))
			out = append(out, s...)
		}
	}
	for slot, e := range b.slots {
		if e != nil {
			out = append(out, byte(slot))
			out = binary.AppendUvarint(out, uint64(len(e)))
			out = append(out, e...)
		}
	}
	return out
}

// bucketAt is the start of slot's bucket.
func (b *block) bucketAt(slot int) int64 { return b.at + int64(slot)*b.every }

// slotOf is the slot of the bucket starting at bucketMs.
func (b *block) slotOf(bucketMs int64) int { return int((bucketMs - b.at) / b.every) }

// state decodes slot's bucket (zero Rows: none).
func (b *block) state(slot int) (RollupState, error) {
	if b.slots[slot] == nil {
		return RollupState{}, nil
	}
	r := binReader{b: b.slots[slot]}
	s := r.state(b.bucketAt(slot), b.paths)
	if !r.ok() || r.i != len(r.b) {
		return RollupState{}, errBlockDamaged
	}
	return s, nil
}

// set stores s as slot's bucket (none when s has no rows).
func (b *block) set(slot int, s RollupState) {
	if s.Rows == 0 {
		b.slots[slot] = nil
		return
	}
	b.slots[slot] = b.appendState(nil, b.bucketAt(slot), s)
}

// fieldPaths returns the paths of the numbers of the block's buckets:
// its paths, and those of its buckets of one row (entryRow), which are in
// their rows' JSON.
func (b *block) fieldPaths() ([][]string, error) {
	paths := b.paths
	for slot, e := range b.slots {
		if e == nil {
			continue
		}
		if flags, n := binary.Uvarint(e); n <= 0 || flags&entryRow == 0 {
			continue
		}
		st, err := b.state(slot)
		if err != nil {
			return nil, err
		}
		for _, f := range st.Fields {
			if !slices.ContainsFunc(paths, func(p []string) bool { return slices.Equal(p, f.Path) }) {
				paths = append(paths[:len(paths):len(paths)], f.Path)
			}
		}
	}
	return paths, nil
}

// pathIndex returns the index of path, adding it if new. A field's path
// never changes once made (RollupState.field copies the parser's), so
// the block shares it.
func (b *block) pathIndex(path []string) int {
	for i, p := range b.paths {
		if slices.Equal(p, path) {
			return i
		}
	}
	b.paths = append(b.paths, path)
	return len(b.paths) - 1
}

// appendState appends s's entry.
func (b *block) appendState(out []byte, bucketMs int64, s RollupState) []byte {
	if s.Rows == 1 && s.First == s.Last {
		// One row's state is RollupState.Add of it (states are made by Add
		// and Merge only): its row says all of it. (entrySingle without
		// entryRow, one row with its fields, is what rechist wrote before;
		// it is still read.)
		out = binary.AppendUvarint(out, entrySingle|entryRow)
		out = binary.AppendUvarint(out, 1)
		out = binary.AppendVarint(out, s.First.Ms-bucketMs)
		out = binary.AppendVarint(out, s.First.ID)
		return appendString(out, s.First.JSON)
	}
	out = binary.AppendUvarint(out, 0) // flags
	out = binary.AppendUvarint(out, uint64(s.Rows))
	out = binary.AppendVarint(out, s.First.Ms-bucketMs)
	out = binary.AppendVarint(out, s.First.ID)
	out = appendString(out, s.First.JSON)
	out = binary.AppendVarint(out, s.Last.Ms-s.First.Ms)
	out = binary.AppendVarint(out, s.Last.ID-s.First.ID)
	out = appendString(out, s.Last.JSON)
	fields := 0 // a field with no number (N 0) is one a reused state keeps (reset): not encoded
	for _, f := range s.Fields {
		if f.N > 0 {
			fields++
		}
	}
	out = binary.AppendUvarint(out, uint64(fields))
	for _, f := range s.Fields {
		if f.N == 0 {
			continue
		}
		out = binary.AppendUvarint(out, uint64(b.pathIndex(f.Path)))
		var ff uint64
		firstIsRow := f.First.Ms == s.First.Ms && f.First.ID == s.First.ID
		lastIsRow := f.Last.Ms == s.Last.Ms && f.Last.ID == s.Last.ID
		one := f.N == 1 && f.First == f.Last
		if one {
			ff |= fieldOne
		}
		if firstIsRow {
			ff |= fieldFirstIsRow
		}
		if lastIsRow {
			ff |= fieldLastIsRow
		}
		out = binary.AppendUvarint(out, ff)
		if one {
			out = appendRef(out, firstIsRow, f.First, s.First)
			out = binary.LittleEndian.AppendUint64(out, math.Float64bits(f.First.X))
			continue
		}
		out = binary.AppendUvarint(out, uint64(f.N))
		out = f.Sum.appendBinary(out)
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(f.Min))
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(f.Max))
		out = appendRef(out, firstIsRow, f.First, s.First)
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(f.First.X))
		out = appendRef(out, lastIsRow, f.Last, s.Last)
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(f.Last.X))
	}
	return out
}

func appendString(out []byte, s string) []byte {
	out = binary.AppendUvarint(out, uint64(len(s)))
	return append(out, s...)
}

// appendRef appends n's time and id relative to row's, unless isRow says
// they are row's.
func appendRef(out []byte, isRow bool, n NumRef, row RowRef) []byte {
	if isRow {
		return out
	}
	out = binary.AppendVarint(out, n.Ms-row.Ms)
	return binary.AppendVarint(out, n.ID-row.ID)
}

// binReader reads a block; the first thing that does not fit sets bad,
// and everything after reads zeros.
type binReader struct {
	b   []byte
	i   int
	bad bool
}

func (r *binReader) ok() bool { return !r.bad }

func (r *binReader) byte() byte {
	if r.bad || r.i >= len(r.b) {
		r.bad = true
		return 0
	}
	r.i++
	return r.b[r.i-1]
}

func (r *binReader) uvarint() uint64 {
	if r.bad {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.i:])
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.i += n
	return v
}

func (r *binReader) varint() int64 {
	if r.bad {
		return 0
	}
	v, n := binary.Varint(r.b[r.i:])
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.i += n
	return v
}

func (r *binReader) bytes(n uint64) []byte {
	if r.bad || n > uint64(len(r.b)-r.i) {
		r.bad = true
		return nil
	}
	r.i += int(n)
	return r.b[r.i-int(n) : r.i : r.i]
}

func (r *binReader) str() string { return string(r.bytes(r.uvarint())) }

// skipStr skips a string.
func (r *binReader) skipStr() { r.bytes(r.uvarint()) }

func (r *binReader) f64() float64 {
	b := r.bytes(8)
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

// count reads a count, refusing one larger than what is left could hold.
func (r *binReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)-r.i) {
		r.bad = true
		return 0
	}
	return int(n)
}

func (r *binReader) paths() [][]string {
	n := r.count()
	out := make([][]string, 0, n)
	for range n {
		segs := r.count()
		p := make([]string, 0, segs)
		for range segs {
			p = append(p, r.str())
		}
		out = append(out, p)
	}
	return out
}

// ref reads a number's time and id relative to row's, unless isRow.
func (r *binReader) ref(isRow bool, rowMs, rowID int64) (ms, id int64) {
	if isRow {
		return rowMs, rowID
	}
	return rowMs + r.varint(), rowID + r.varint()
}

// state reads an entry of the bucket starting at bucketMs.
func (r *binReader) state(bucketMs int64, paths [][]string) RollupState {
	var s RollupState
	flags := r.uvarint()
	s.Rows = int64(r.uvarint())
	s.First.Ms = bucketMs + r.varint()
	s.First.ID = r.varint()
	s.First.JSON = r.str()
	if flags&entryRow != 0 {
		if s.Rows != 1 || flags&entrySingle == 0 || r.i != len(r.b) {
			r.bad = true
		}
		if !r.ok() {
			return RollupState{}
		}
		row := Row{ID: s.First.ID, StoredAt: s.First.Ms, ValueJSON: s.First.JSON}
		s = RollupState{}
		s.Add(row)
		return s
	}
	if flags&entrySingle != 0 {
		s.Last = s.First
	} else {
		s.Last.Ms = s.First.Ms + r.varint()
		s.Last.ID = s.First.ID + r.varint()
		s.Last.JSON = r.str()
	}
	n := r.count()
	s.Fields = make([]Field, 0, n)
	for range n {
		pi := r.uvarint()
		if pi >= uint64(len(paths)) {
			r.bad = true
			return RollupState{}
		}
		f := r.field(&s)
		f.Path = paths[pi]
		s.Fields = append(s.Fields, f)
	}
	if !slices.IsSortedFunc(s.Fields, func(a, b Field) int { return slices.Compare(a.Path, b.Path) }) {
		r.bad = true
	}
	return s
}

// field reads a field of the entry whose rows s holds (First and Last).
func (r *binReader) field(s *RollupState) Field {
	var f Field
	ff := r.uvarint()
	if ff&fieldOne != 0 {
		f.First.Ms, f.First.ID = r.ref(ff&fieldFirstIsRow != 0, s.First.Ms, s.First.ID)
		f.First.X = r.f64()
		f.Last = f.First
		f.N, f.Min, f.Max = 1, f.First.X, f.First.X
		f.Sum.Add(f.First.X)
		return f
	}
	f.N = int64(r.uvarint())
	f.Sum = r.decimalSum()
	f.Min, f.Max = r.f64(), r.f64()
	f.First.Ms, f.First.ID = r.ref(ff&fieldFirstIsRow != 0, s.First.Ms, s.First.ID)
	f.First.X = r.f64()
	f.Last.Ms, f.Last.ID = r.ref(ff&fieldLastIsRow != 0, s.Last.Ms, s.Last.ID)
	f.Last.X = r.f64()
	return f
}

// foldField calls fn with the field at path of each bucket of the block
// that starts within [fromMs, toMs] and has one: what Aggregate reads,
// without decoding the rest (the rows' JSON, the other fields).
func (b *block) foldField(path []string, fromMs, toMs int64, fn func(bucketMs int64, f Field)) error {
	pi := -1 // none: only a bucket of one row (entryRow) can have it
	for i, p := range b.paths {
		if slices.Equal(p, path) {
			pi = i
		}
	}
	var one RollupState // an entryRow's state, reused
	var buf []string
	for slot, e := range b.slots {
		at := b.bucketAt(slot)
		if e == nil || at < fromMs || at > toMs {
			continue
		}
		r := binReader{b: e}
		var s RollupState // only the rows' times and ids
		flags := r.uvarint()
		r.uvarint() // rows
		s.First.Ms = at + r.varint()
		s.First.ID = r.varint()
		if flags&entryRow != 0 {
			js := r.str()
			if !r.ok() || r.i != len(r.b) {
				return errBlockDamaged
			}
			one.reset()
			one.addRow(Row{ID: s.First.ID, StoredAt: s.First.Ms, ValueJSON: js}, &buf)
			i, found := slices.BinarySearchFunc(one.Fields, path, func(f Field, p []string) int { return slices.Compare(f.Path, p) })
			if found && one.Fields[i].N > 0 {
				fn(at, one.Fields[i])
			}
			continue
		}
		if pi < 0 {
			continue
		}
		r.skipStr()
		if flags&entrySingle != 0 {
			s.Last = s.First
		} else {
			s.Last.Ms = s.First.Ms + r.varint()
			s.Last.ID = s.First.ID + r.varint()
			r.skipStr()
		}
		for n := r.count(); n > 0 && r.ok(); n-- {
			i := r.uvarint()
			f := r.field(&s)
			if int(i) == pi && r.ok() {
				fn(at, f)
				break
			}
		}
		if !r.ok() {
			return errBlockDamaged
		}
	}
	return nil
}
