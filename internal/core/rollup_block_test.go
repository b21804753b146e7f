package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// stateText describes a state exactly (sums as their exact decimal), to
// compare two.
func stateText(s RollupState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rows %d first %+v last %+v\n", s.Rows, s.First, s.Last)
	for _, f := range s.Fields {
		fmt.Fprintf(&b, "  %q n %d sum %s min %v max %v first %+v last %+v\n", f.Path, f.N, f.Sum.String(), f.Min, f.Max, f.First, f.Last)
	}
	return b.String()
}

// randomState is the state of a few random rows of the bucket starting at
// at, width every: values of every kind, late ids, numbers of any size.
func randomState(rng *rand.Rand, at, every int64) RollupState {
	xs := randomValues(rng, 8)
	values := []func() string{
		func() string { return strconv.FormatFloat(xs[rng.IntN(8)], 'g', -1, 64) },
		func() string {
			return `{"a":` + strconv.FormatFloat(xs[rng.IntN(8)], 'g', -1, 64) + `,"b":{"c":-0,"d":"x\"y"},"e":[1]}`
		},
		func() string { return `"text"` },
		func() string { return `{"k\u00e9":1e300,"n":null,"a":-2.5e-7}` },
		func() string { return `{"a":{"b":{"c":3}},"z":` + strconv.Itoa(rng.IntN(100)) + `}` },
	}
	var s RollupState
	for range 1 + rng.IntN(6) {
		s.Add(Row{ID: rng.Int64N(1 << 40), Name: "n", ValueJSON: values[rng.IntN(len(values))](), StoredAt: at + rng.Int64N(every)})
	}
	return s
}

// A block gives back every bucket it was given, to the bit, and the
// aggregation's read of one field (foldField) agrees with the full decode.
func TestBlockRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for round := range 400 {
		every := int64(1000 * (1 + rng.IntN(3600)))
		at := blockStart(rng.Int64N(4e12)-2e12, every)
		b := newBlock(at, every)
		want := map[int]string{}
		for slot := range blockBuckets {
			if rng.IntN(3) == 0 {
				continue
			}
			st := randomState(rng, b.bucketAt(slot), every)
			b.set(slot, st)
			want[slot] = stateText(st)
		}
		data := b.encode()
		if len(want) == 0 {
			if data != nil {
				t.Fatalf("round %d: an empty block encodes to %d bytes", round, len(data))
			}
			continue
		}
		got, err := decodeBlock(at, every, data)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for slot := range blockBuckets {
			st, err := got.state(slot)
			if err != nil {
				t.Fatalf("round %d slot %d: %v", round, slot, err)
			}
			if w, ok := want[slot]; !ok && st.Rows != 0 || ok && stateText(st) != w {
				t.Fatalf("round %d slot %d:\ngot  %swant %s", round, slot, stateText(st), w)
			}
			for _, f := range st.Fields {
				var folded []string
				err := got.foldField(f.Path, b.bucketAt(slot), b.bucketAt(slot), func(ms int64, g Field) {
					g.Path = f.Path
					folded = append(folded, stateText(RollupState{Fields: []Field{g}}))
				})
				if err != nil || len(folded) != 1 || folded[0] != stateText(RollupState{Fields: []Field{f}}) {
					t.Fatalf("round %d slot %d field %q: foldField %v, %v; want %s", round, slot, f.Path, folded, err, stateText(RollupState{Fields: []Field{f}}))
				}
			}
		}
		// A bucket merged into a stored one equals the merge of the two.
		slot := rng.IntN(blockBuckets)
		more := randomState(rng, b.bucketAt(slot), every)
		st, _ := got.state(slot)
		merged := st
		merged.Merge(more)
		got.set(slot, merged)
		again, err := decodeBlock(at, every, got.encode())
		if err != nil {
			t.Fatalf("round %d: after a merge: %v", round, err)
		}
		if st2, _ := again.state(slot); stateText(st2) != stateText(merged) {
			t.Fatalf("round %d: after a merge:\ngot  %swant %s", round, stateText(st2), stateText(merged))
		}
	}
}

// A damaged block is an error, never a panic or a wrong bucket.
func TestBlockDamaged(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	b := newBlock(0, 60_000)
	for slot := range blockBuckets {
		b.set(slot, randomState(rng, b.bucketAt(slot), 60_000))
	}
	data := b.encode()
	check := func(what string, d []byte) {
		t.Helper()
		got, err := decodeBlock(0, 60_000, d)
		if err == nil {
			for slot := range blockBuckets {
				if _, err = got.state(slot); err != nil {
					break
				}
			}
		}
		if err != nil && !errors.Is(err, errBlockDamaged) {
			t.Errorf("%s: %v, want errBlockDamaged", what, err)
		}
	}
	for n := range len(data) {
		check(fmt.Sprintf("cut at %d", n), data[:n])
	}
	for range 2000 {
		d := append([]byte{}, data...)
		d[rng.IntN(len(d))] = byte(rng.Uint32())
		check("one byte changed", d)
	}
	if _, err := decodeBlock(0, 60_000, []byte{2}); !errors.Is(err, errBlockDamaged) {
		t.Errorf("another version: %v", err)
	}
}

func FuzzDecodeBlock(f *testing.F) {
	rng := rand.New(rand.NewPCG(11, 12))
	b := newBlock(0, 1000)
	b.set(3, randomState(rng, b.bucketAt(3), 1000))
	f.Add(b.encode())
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeBlock(0, 1000, data)
		if err != nil {
			return
		}
		for slot := range blockBuckets {
			if st, err := got.state(slot); err == nil && st.Rows > 0 {
				for _, fl := range st.Fields {
					_ = got.foldField(fl.Path, 0, 1<<40, func(int64, Field) {})
				}
			}
		}
	})
}

// Blocks keep a year of hourly temperature buckets small: what the
// storage target rests on.
func TestBlockSize(t *testing.T) {
	b := newBlock(0, 3_600_000)
	for slot := range blockBuckets {
		var s RollupState
		for m := range 60 {
			s.Add(Row{ID: int64(slot*60 + m + 1_000_000), ValueJSON: `{"celsius":` + strconv.FormatFloat(float64(1000+m*7)/100, 'f', 2, 64) + `}`,
				StoredAt: b.bucketAt(slot) + int64(m)*60_000})
		}
		b.set(slot, s)
	}
	if n := len(b.encode()); n > 8*110 {
		t.Errorf("eight hourly buckets of {\"celsius\": x} take %d bytes, want at most %d", n, 8*110)
	}
}

// A bucket of one row is stored as its row alone (entryRow): a block of
// such buckets has no paths, decodes to RollupState.Add of each row, and
// gives Aggregate's read (foldField) each row's numbers; an entryRow
// entry with more than its row, or not of one row, is damaged.
func TestBlockOfOneRowBuckets(t *testing.T) {
	const every = 60_000
	b := newBlock(0, every)
	rows := map[int]Row{
		0: {ID: 7, StoredAt: 1_000, ValueJSON: `{"v":-0,"seq":12,"t":"x"}`},
		3: {ID: 9, StoredAt: 3*every + 59_999, ValueJSON: `21.5`},
		5: {ID: 11, StoredAt: 5 * every, ValueJSON: `"text"`},
		7: {ID: 2, StoredAt: 7*every + 1, ValueJSON: `{"v":1e300,"v":3}`},
	}
	want := map[int]RollupState{}
	for slot, row := range rows {
		var s RollupState
		s.Add(row)
		want[slot] = s
		b.set(slot, s)
	}
	data := b.encode()
	got, err := decodeBlock(0, every, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.paths) != 0 {
		t.Errorf("paths %q, want none", got.paths)
	}
	for slot := range blockBuckets {
		g, err := got.state(slot)
		if err != nil {
			t.Fatal(err)
		}
		if stateText(g) != stateText(want[slot]) {
			t.Errorf("slot %d:\ngot  %swant %s", slot, stateText(g), stateText(want[slot]))
		}
	}
	for _, path := range [][]string{{"v"}, {"seq"}, {}, {"t"}} {
		var folded []string
		err := got.foldField(path, 0, 8*every, func(at int64, f Field) {
			folded = append(folded, fmt.Sprintf("%d:%d/%v/%v/%v", at, f.N, f.Sum.String(), f.Min, f.First))
		})
		if err != nil {
			t.Fatal(err)
		}
		var exp []string
		for slot := range blockBuckets {
			w := want[slot]
			if f, ok := w.Bucket(path, int64(slot)*every); ok {
				i := slices.IndexFunc(w.Fields, func(g Field) bool { return slices.Equal(g.Path, path) })
				exp = append(exp, fmt.Sprintf("%d:%d/%v/%v/%v", f.StartMs, f.Count, w.Fields[i].Sum.String(), f.Min, w.Fields[i].First))
			}
		}
		if !slices.Equal(folded, exp) {
			t.Errorf("foldField %q: %v, want %v", path, folded, exp)
		}
	}
	for _, entry := range [][]byte{
		{entrySingle | entryRow, 2, 0, 0, 1, '1'},    // two rows
		{entryRow, 1, 0, 0, 1, '1'},                  // not single
		{entrySingle | entryRow, 1, 0, 0, 1, '1', 0}, // more than the row
	} {
		bad := append([]byte{blockVersion, 0, 0, byte(len(entry))}, entry...)
		d, err := decodeBlock(0, every, bad)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.state(0); !errors.Is(err, errBlockDamaged) {
			t.Errorf("entry %v: %v, want errBlockDamaged", entry, err)
		}
	}
}

// A state reused for another bucket (reset) keeps its fields' paths with
// no numbers; they are not stored: the bucket has the fields of its own
// rows only.
func TestReusedStateStoresItsOwnFields(t *testing.T) {
	var s RollupState
	s.Add(Row{ID: 1, StoredAt: 10, ValueJSON: `{"a":1,"b":2}`})
	s.reset()
	s.Add(Row{ID: 2, StoredAt: 20, ValueJSON: `{"a":3}`})
	s.Add(Row{ID: 3, StoredAt: 30, ValueJSON: `{"a":4}`})
	b := newBlock(0, 60_000)
	b.set(0, s)
	got, err := decodeBlock(0, 60_000, b.encode())
	if err != nil {
		t.Fatal(err)
	}
	st, err := got.state(0)
	if err != nil {
		t.Fatal(err)
	}
	var want RollupState
	want.Add(Row{ID: 2, StoredAt: 20, ValueJSON: `{"a":3}`})
	want.Add(Row{ID: 3, StoredAt: 30, ValueJSON: `{"a":4}`})
	if stateText(st) != stateText(want) {
		t.Fatalf("got  %swant %s", stateText(st), stateText(want))
	}
}

// A bucket of one row as rechist wrote it before entryRow (entrySingle,
// the row and its fields) still decodes, and Aggregate's read finds its
// number.
func TestBlockOfOneRowBucketBeforeEntryRow(t *testing.T) {
	entry := []byte{entrySingle, 1, 2, 14, 8} // one row, 1 ms into the bucket, id 7, 8 bytes of JSON
	entry = append(entry, `{"v":-2}`...)
	entry = append(entry, 1, 0, fieldOne|fieldFirstIsRow) // one field: paths[0], one number, the row's
	entry = binary.LittleEndian.AppendUint64(entry, math.Float64bits(-2))
	data := append([]byte{blockVersion, 1, 1, 1, 'v', 0, byte(len(entry))}, entry...)
	b, err := decodeBlock(60_000, 60_000, data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.state(0)
	if err != nil {
		t.Fatal(err)
	}
	var want RollupState
	want.Add(Row{ID: 7, StoredAt: 60_001, ValueJSON: `{"v":-2}`})
	if stateText(got) != stateText(want) {
		t.Fatalf("got  %swant %s", stateText(got), stateText(want))
	}
	var n int64
	if err := b.foldField([]string{"v"}, 0, 1e9, func(_ int64, f Field) { n += f.N }); err != nil || n != 1 {
		t.Fatalf("foldField: %d numbers, %v; want 1", n, err)
	}
}
