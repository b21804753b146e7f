package rechistmcp

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// The newest rows come from each record's index (merged) or from
// streaming the range when there are too many records: both give the
// rows the fixture's own order says, ties by name and then insert order.
func TestHistoryNewestPathsAgree(t *testing.T) {
	f := fill(t)
	db, err := openWrite(t, f.path)
	if err != nil {
		t.Fatal(err)
	}
	raw := rechist.NewRepo[json.RawMessage](db)
	tie := f.now.Add(-3 * time.Hour)
	for _, r := range []struct{ name, v string }{{"tie::b", "3"}, {"tie::a", "1"}, {"tie::a", "2"}} {
		if err := raw.StoreAt(t.Context(), r.name, json.RawMessage(r.v), tie); err != nil {
			t.Fatal(err)
		}
	}
	end := f.now.Add(-2*time.Hour - 10*time.Minute)
	var want []string
	for _, p := range f.points {
		if !p.at.After(end) {
			want = append(want, p.name+"@"+rfc(p.at))
		}
	}
	want = want[len(want)-3:]
	for _, mergeCap := range []int{defaultMergeCap, 1} {
		cs := connectHTTP(t, db, at(f.now), func(c *config) { c.mergeCap = mergeCap })
		out := call[historyOut](t, cs, "query_history", map[string]any{"pattern": "temperature::*", "end": rfc(end), "limit": 3})
		var got []string
		for _, r := range out.Rows {
			got = append(got, r.Name+"@"+r.At)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("merge cap %d: newest 3\n got %v\nwant %v", mergeCap, got, want)
		}
		out = call[historyOut](t, cs, "query_history", map[string]any{"pattern": "tie::*", "limit": 2})
		got = got[:0]
		for _, r := range out.Rows {
			got = append(got, fmt.Sprintf("%s=%s", r.Name, mustJSON(t, r.Value)))
		}
		if strings.Join(got, " ") != "tie::a=2 tie::b=3" || out.Total != 3 || !out.Truncated {
			t.Errorf("merge cap %d: ties: %v total %d", mergeCap, got, out.Total)
		}
	}
}

// A range that cuts through a record's history is counted row by row, up
// to the cap; past it the total is a lower bound, and the note says so.
func TestHistoryCountCap(t *testing.T) {
	f := fill(t)
	cs := connectHTTP(t, openRead(t, f.path), at(f.now), func(c *config) { c.countCap = 50 })
	out := call[historyOut](t, cs, "query_history", map[string]any{"pattern": "temperature::*", "start": "1d", "limit": 5})
	if out.Total != 50 || out.TotalExact || !out.Truncated || !strings.Contains(out.Note, "newest 5 of more than 50 rows") {
		t.Fatalf("%+v", out)
	}
	// The whole history of every record: counted from the records, exactly.
	out = call[historyOut](t, cs, "query_history", map[string]any{"pattern": "temperature::*", "limit": 5})
	if out.Total != len(f.points) || !out.TotalExact {
		t.Fatalf("whole history: %+v, want %d", out, len(f.points))
	}
}

// Past the result's byte budget the rows farthest from what was asked
// for are left out, and the note says why.
func TestHistoryByteBudget(t *testing.T) {
	f := fill(t)
	cs := connectHTTP(t, openRead(t, f.path), at(f.now), WithMaxResultBytes(2000))
	for _, order := range []string{"newest", "oldest"} {
		out := call[historyOut](t, cs, "query_history", map[string]any{"pattern": "temperature::*", "order": order})
		if out.Returned < 5 || out.Returned > 30 || !out.Truncated || !strings.Contains(out.Note, "as many as fit in 2000 bytes") {
			t.Fatalf("%s: returned %d, note %q", order, out.Returned, out.Note)
		}
		first, last := out.Rows[0].At, out.Rows[len(out.Rows)-1].At
		if order == "newest" && last != rfc(f.now) || order == "oldest" && first != rfc(f.now.Add(-7*24*time.Hour)) {
			t.Errorf("%s: rows from %s to %s", order, first, last)
		}
	}
}
