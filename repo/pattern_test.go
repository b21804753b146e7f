package repo

import (
	"context"
	"strings"
	"testing"

	"github.com/seed178a96f3/rechist/internal/core"
)

// The SQLite forms of a compiled pattern: its GLOB, the bytewise range
// [lo, hi) the walk seeks, and the filter it applies to each name there.
func TestPatternSQL(t *testing.T) {
	for _, tc := range []struct {
		in, glob, lo, hi, filter string
	}{
		{"accuracy::*", "accuracy::*", "accuracy::", "accuracy:;", "accuracy::*"},
		{"a?b[c]", "a[?]b[[]c]", "a?b[c]", "a?b[c]\x00", "*"},
		{"*", "*", "", "\xff", "*"},
		{"x*y*", "x*y*", "x", "y", "x*y*"},
		{"%_\\", "%_\\", "%_\\", "%_\\\x00", "*"},
		{"é*", "é*", "é", "\xc3\xaa", "é*"},
	} {
		p, err := core.CompilePattern("query", tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		lo, hi := nameRange(p)
		filter, complete := nameFilter(p)
		if glob(p) != tc.glob || lo != tc.lo || hi != tc.hi || filter != tc.filter || !complete {
			t.Errorf("%q: got glob %q [%q, %q) filter %q %v, want glob %q [%q, %q) filter %q", tc.in,
				glob(p), lo, hi, filter, complete, tc.glob, tc.lo, tc.hi, tc.filter)
		}
	}
	// Languages GLOB does not express are tested in Go, an exact name by
	// its range alone.
	topic, _ := core.CompileTopicPattern("query", "a.*.c")
	exact, _ := core.ExactPattern("latest", "a*[b]")
	for _, tc := range []struct {
		p        core.Pattern
		lo, hi   string
		complete bool
	}{{topic, "a.", "a/", false}, {exact, "a*[b]", "a*[b]\x00", true}} {
		lo, hi := nameRange(tc.p)
		filter, complete := nameFilter(tc.p)
		if lo != tc.lo || hi != tc.hi || filter != "*" || complete != tc.complete {
			t.Errorf("%q: got [%q, %q) filter %q %v", tc.p.Source(), lo, hi, filter, complete)
		}
	}
}

// A wildcard pattern the core takes whose GLOB is longer than SQLite
// accepts ('[' and '?' triple in GLOB) is answered, its names tested in
// Go, as the PostgreSQL engine answers it. Only names longer than rechist
// stores (another program's) can match such a pattern.
func TestPatternBeyondSQLiteGlobLimit(t *testing.T) {
	e := openTest(t, core.Config{})
	long := strings.Repeat("[", 20_000)
	for i, name := range []string{long + "x", long + "y", long} {
		if _, err := e.e.writeDB.Exec(`INSERT INTO record_history (record_name, value_json, stored_at) VALUES (?, ?, ?)`, name, i+1, i+1); err != nil {
			t.Fatal(err)
		}
	}
	p, err := core.CompilePattern("query", long+"*x")
	if err != nil {
		t.Fatal(err)
	}
	if len(glob(p)) <= maxGlobBytes {
		t.Fatalf("the GLOB is %d bytes, within SQLite's limit", len(glob(p)))
	}
	for _, limit := range []int64{0, 1} {
		rows, err := e.Query(context.Background(), long+"*x", core.Range{StartMs: 0, EndMs: 10, LimitPerRecord: limit})
		if err != nil {
			t.Fatalf("limit %d: %v", limit, err)
		}
		if len(rows) != 1 || rows[0].ValueJSON != "1" {
			t.Fatalf("limit %d: %d rows, want the one of %q", limit, len(rows), "…x")
		}
	}
}
