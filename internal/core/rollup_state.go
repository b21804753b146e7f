package core

import (
	"slices"

	"github.com/seed178a96f3/rechist/internal/jsonpath"
)

// RollupState summarises the rows of one record within one bucket: what a
// tier keeps of them. Every part merges exactly (Merge), so a coarser
// bucket, or a range across buckets, is the summary of its rows, never a
// summary of summaries that rounds twice.
type RollupState struct {
	Rows        int64
	First, Last RowRef  // the oldest row (time, then lowest id) and the newest (time, then highest id)
	Fields      []Field // one for each path of object keys to a number in some row, by path
}

// RowRef is a row a state keeps: its time, id and value.
type RowRef struct {
	Ms, ID int64
	JSON   string
}

// Field summarises the numbers at one path (Aggregate's Field): what
// Aggregate's bucket of these rows is.
type Field struct {
	Path        []string
	N           int64
	Sum         DecimalSum
	Min, Max    float64
	First, Last NumRef // the number of the oldest and of the newest row that has one
}

// NumRef is a number of a row, with the row's time and id.
type NumRef struct {
	Ms, ID int64
	X      float64
}

// before orders rows by time, then id.
func before(ams, aid, bms, bid int64) bool {
	return ams < bms || ams == bms && aid < bid
}

// Add adds one row.
func (s *RollupState) Add(row Row) {
	var path []string
	s.addRow(row, &path)
}

// addRow is Add with the JSON's paths built in *path (jsonpath.LeavesBuf).
func (s *RollupState) addRow(row Row, path *[]string) {
	ref := RowRef{Ms: row.StoredAt, ID: row.ID, JSON: row.ValueJSON}
	if s.Rows == 0 || before(ref.Ms, ref.ID, s.First.Ms, s.First.ID) {
		s.First = ref
	}
	if s.Rows == 0 || before(s.Last.Ms, s.Last.ID, ref.Ms, ref.ID) {
		s.Last = ref
	}
	s.Rows++
	jsonpath.LeavesBuf(row.ValueJSON, path, func(path []string, x float64) {
		if x == 0 {
			x = 0 // -0 counts as +0, as Aggregate reads it
		}
		f := s.field(path)
		n := NumRef{Ms: row.StoredAt, ID: row.ID, X: x}
		f.combine(1, x, x, n, n)
		f.Sum.Add(x)
	})
}

// reset empties s for another row, keeping its fields' paths (with no
// numbers: N 0, which Merge skips) so that a state reused row after row
// (addRows) allocates only for a path it has not seen.
func (s *RollupState) reset() {
	s.Rows, s.First, s.Last = 0, RowRef{}, RowRef{}
	for i := range s.Fields {
		s.Fields[i] = Field{Path: s.Fields[i].Path}
	}
}

// field returns the field of path, adding it in path order if new.
func (s *RollupState) field(path []string) *Field {
	if len(s.Fields) <= 8 {
		// A value has a few numbers: comparing for equality beats the
		// ordered comparisons of a binary search.
		for i := range s.Fields {
			if slices.Equal(s.Fields[i].Path, path) {
				return &s.Fields[i]
			}
		}
	}
	i, found := slices.BinarySearchFunc(s.Fields, path, func(f Field, p []string) int { return slices.Compare(f.Path, p) })
	if !found {
		s.Fields = slices.Insert(s.Fields, i, Field{Path: append([]string{}, path...)})
	}
	return &s.Fields[i]
}

// sharedField is field for a path no one changes (another state's): a
// new field shares it rather than copying it.
func (s *RollupState) sharedField(path []string) *Field {
	if n := len(s.Fields); n == 0 || slices.Compare(s.Fields[n-1].Path, path) < 0 {
		s.Fields = append(s.Fields, Field{Path: path}) // in order: the common case
		return &s.Fields[n]
	}
	i, found := slices.BinarySearchFunc(s.Fields, path, func(f Field, p []string) int { return slices.Compare(f.Path, p) })
	if !found {
		s.Fields = slices.Insert(s.Fields, i, Field{Path: path})
	}
	return &s.Fields[i]
}

// combine adds the count, extremes and first and last of n more numbers
// (not their sum).
func (f *Field) combine(n int64, lo, hi float64, first, last NumRef) {
	if f.N == 0 {
		f.Min, f.Max, f.First, f.Last = lo, hi, first, last
	} else {
		f.Min, f.Max = min(f.Min, lo), max(f.Max, hi)
		if before(first.Ms, first.ID, f.First.Ms, f.First.ID) {
			f.First = first
		}
		if before(f.Last.Ms, f.Last.ID, last.Ms, last.ID) {
			f.Last = last
		}
	}
	f.N += n
}

// Merge adds the rows o summarises (rows of the same record, none in both).
func (s *RollupState) Merge(o RollupState) {
	if o.Rows == 0 {
		return
	}
	if s.Rows == 0 || before(o.First.Ms, o.First.ID, s.First.Ms, s.First.ID) {
		s.First = o.First
	}
	if s.Rows == 0 || before(s.Last.Ms, s.Last.ID, o.Last.Ms, o.Last.ID) {
		s.Last = o.Last
	}
	s.Rows += o.Rows
	if s.Fields == nil {
		s.Fields = make([]Field, 0, len(o.Fields))
	}
	for _, of := range o.Fields {
		if of.N == 0 {
			continue // a path a reused state keeps (reset)
		}
		f := s.sharedField(of.Path)
		f.combine(of.N, of.Min, of.Max, of.First, of.Last)
		f.Sum.Merge(of.Sum)
	}
}

// Bucket is the Aggregate bucket of the field at path, starting at
// startMs; false when no row has a number there.
func (s *RollupState) Bucket(path []string, startMs int64) (Bucket, bool) {
	i, found := slices.BinarySearchFunc(s.Fields, path, func(f Field, p []string) int { return slices.Compare(f.Path, p) })
	if !found {
		return Bucket{}, false
	}
	f := s.Fields[i]
	return Bucket{StartMs: startMs, Count: f.N, Min: f.Min, Max: f.Max, Sum: f.Sum.Sum(),
		Mean: f.Sum.Mean(f.N), First: f.First.X, Last: f.Last.X}, true
}
