package core_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/core"
)

// The newest value of every record (the dashboard's list, /api/query's
// default limit of 1) is the first pass's rows alone: one record last
// written years ago must not make Timeline read the history in between,
// window by window. With windows too small for the rows, it still does.
func TestTimelineWithALimitReadsNoWindowWhenTheRowsFit(t *testing.T) {
	db, err := rechist.Open(t.Context(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := rechist.NewRepo[int](db)
	now := time.Now().Truncate(time.Millisecond)
	recs := []rechist.Record[int]{{Name: "s::stale", Value: -1, StoredAt: now.AddDate(-5, 0, 0)}}
	for i := range 2000 {
		recs = append(recs, rechist.Record[int]{Name: []string{"s::a", "s::b"}[i%2], Value: i, StoredAt: now.Add(time.Duration(i-2000) * time.Minute)})
	}
	if err := r.StoreMany(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	windows := 0
	core.SetTimelineWindowRead(func() { windows++ })
	defer core.SetTimelineWindowRead(nil)

	for _, bound := range []int{0, 2} { // 0: the default window
		windows = 0
		ctx := core.WithTimelineWindow(t.Context(), bound, 0)
		var got []rechist.Record[int]
		for rec, err := range r.Timeline(ctx, "s::*", rechist.QueryParams{LimitPerRecord: 1}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, rec)
		}
		if len(got) != 3 || got[0].Value != -1 || got[1].Value != 1998 || got[2].Value != 1999 {
			t.Fatalf("window %d: Timeline gave %v, want the stale record's row, then s::a's 1998 and s::b's 1999", bound, got)
		}
		switch {
		case bound == 0 && windows != 0:
			t.Errorf("the newest value of 3 records read %d windows of history after the first pass, want none", windows)
		case bound == 2 && windows == 0:
			t.Errorf("with windows of 2 rows, 3 rows were streamed from the first pass alone")
		}
	}
}
