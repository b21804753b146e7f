package repo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/seed178a96f3/rechist/internal/bench/benchdb"
	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/internal/testutil/refmatch"
)

// The fast walk (what Query runs) must return exactly what the Rust crate's
// window-function query returns, and both exactly what the reference
// matcher selects, on random names full of characters that are special to
// LIKE, GLOB or regexps, with ties in time.
func TestWalkAgreesWithWindowQueryAndReference(t *testing.T) {
	e := openTest(t, core.Config{})
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "A", "%", "_", "?", "[", "]", "\\", "*", ".", ":", "é", "^", "$"}
	randString := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	var names []string
	for range 60 {
		names = append(names, randString(1+rng.IntN(4)))
	}
	var rows []core.Row
	for i := range 600 {
		rows = append(rows, core.Row{
			Name:      names[rng.IntN(len(names))],
			ValueJSON: fmt.Sprint(i),
			StoredAt:  int64(rng.IntN(40)), // many ties
		})
	}
	mustInsert(t, e, rows...)

	ctx := context.Background()
	for i := range 400 {
		var pat string
		switch i % 5 {
		case 4:
			pat = strings.Repeat("*", 1+rng.IntN(2)) // every name: the time-index path
		case 0:
			pat = names[rng.IntN(len(names))] // an exact name
		case 1:
			n := names[rng.IntN(len(names))]
			pat = n[:rng.IntN(len(n)+1)] + "*" // a prefix
		default:
			pat = randString(rng.IntN(3)) + "*" + randString(rng.IntN(2))
			if rng.IntN(2) == 0 {
				pat = "*" + pat
			}
		}
		if !utf8Valid(pat) {
			continue
		}
		r := core.Range{StartMs: math.MinInt64, EndMs: math.MaxInt64, LimitPerRecord: int64(rng.IntN(4))}
		if rng.IntN(2) == 0 {
			r.StartMs, r.EndMs = int64(rng.IntN(20)), int64(20+rng.IntN(20))
		}
		got, err := e.Query(ctx, pat, r)
		if err != nil {
			t.Fatalf("Query(%q): %v", pat, err)
		}
		p, _ := core.CompilePattern("query", pat)
		limit := r.LimitPerRecord
		if limit == 0 {
			limit = -1
		}
		window, err := benchdb.New(e.e.readDB).QueryWindow(ctx, benchdb.QueryWindowParams{Pattern: glob(p), StartMs: r.StartMs, EndMs: r.EndMs, LimitPerRecord: limit})
		if err != nil {
			t.Fatalf("QueryWindow(%q): %v", pat, err)
		}
		want := referenceQuery(rows, pat, r)
		if ids(got) != ids(want) {
			t.Fatalf("pattern %q %+v:\n walk      %s\n reference %s", pat, r, ids(got), ids(want))
		}
		var wids []string
		for _, w := range window {
			wids = append(wids, fmt.Sprint(w.ID))
		}
		if strings.Join(wids, " ") != ids(want) {
			t.Fatalf("pattern %q %+v:\n window    %s\n reference %s", pat, r, strings.Join(wids, " "), ids(want))
		}
	}
}

func utf8Valid(s string) bool { _, err := core.CompilePattern("query", s); return err == nil }

// referenceQuery computes a query's answer in Go from the inserted rows
// (ids are 1.. in insert order).
func referenceQuery(rows []core.Row, pat string, r core.Range) []core.Row {
	var sel []core.Row
	for i, row := range rows {
		row.ID = int64(i + 1)
		if refmatch.Match(pat, row.Name) && row.StoredAt >= r.StartMs && row.StoredAt <= r.EndMs {
			sel = append(sel, row)
		}
	}
	slices.SortFunc(sel, func(a, b core.Row) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if a.StoredAt != b.StoredAt {
			return -cmpInt(a.StoredAt, b.StoredAt)
		}
		return -cmpInt(a.ID, b.ID)
	})
	if r.LimitPerRecord == 0 {
		return sel
	}
	var out []core.Row
	seen := map[string]int64{}
	for _, row := range sel {
		if seen[row.Name] < r.LimitPerRecord {
			seen[row.Name]++
			out = append(out, row)
		}
	}
	return out
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func ids(rows []core.Row) string {
	s := make([]string, len(rows))
	for i, r := range rows {
		s[i] = fmt.Sprint(r.ID)
	}
	return strings.Join(s, " ")
}
