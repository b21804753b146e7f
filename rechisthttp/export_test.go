package rechisthttp

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// Read in windows of a few rows, each its own snapshot, the export is the
// library's All over the whole range, row for row and in its order (ties
// at one millisecond in insert order, later first), for any range; a name
// holding '*' (a pattern that matches other records too) included.
func TestExportWindowsMatchTheLibrary(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	rng := rand.New(rand.NewPCG(3, 4))
	repo := rechist.NewRepo[json.RawMessage](db)
	for _, name := range []string{"e*", "e1", "e2", "f"} {
		var recs []rechist.Record[json.RawMessage]
		for i := range 400 {
			ms := rng.Int64N(20_000)
			if i%10 == 0 {
				ms = 7_777 // many rows in one millisecond
			}
			recs = append(recs, rechist.Record[json.RawMessage]{Name: name, StoredAt: time.UnixMilli(ms),
				Value: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))})
		}
		if err := repo.StoreMany(t.Context(), recs); err != nil {
			t.Fatal(err)
		}
	}
	h := NewHandler(db)
	h.cfg.windowRows = 7
	h.cfg.windowBytes = 200
	for _, q := range []struct {
		pattern    string
		start, end int64 // -1: left out
	}{
		{"*", -1, -1}, {"e*", -1, -1}, {"e1", 7_777, 7_777}, {"*", 1_000, 15_000}, {"f", -1, 7_777}, {"*", 7_778, -1}, {"none", -1, -1},
	} {
		target := "/api/export?format=jsonl&pattern=" + url.QueryEscape(q.pattern)
		var p rechist.QueryParams
		if q.start >= 0 {
			target += fmt.Sprintf("&start=%d", q.start)
			p.Start = time.UnixMilli(q.start)
		}
		if q.end >= 0 {
			target += fmt.Sprintf("&end=%d", q.end)
			p.End = time.UnixMilli(q.end)
		}
		var want strings.Builder
		for rec, err := range repo.All(t.Context(), q.pattern, p) {
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&want, `{"name":%q,"value":%s,"at":%d}`+"\n", rec.Name, rec.Value, rec.StoredAt.UnixMilli())
		}
		a := do(t, h, "GET", target, nil)
		if a.code != 200 || string(a.body) != want.String() {
			t.Errorf("%s: %d, %d lines, want %d\n%.300s\nwant\n%.300s", target, a.code,
				strings.Count(string(a.body), "\n"), strings.Count(want.String(), "\n"), a.body, want.String())
		}
	}
}
