package rechisthttp

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// Rows rolled up into a tier are answered from it, and /api/aggregate says
// so (tier_ms); the buckets are the raw rows'. (Records bounds what the
// handler asks for, so hours whose raw rows are all gone before a
// record's oldest row are not reached yet: see docs/serve.md.)
func TestAggregateSaysTheTier(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := t.Context()
	if err := db.SetPolicy(ctx, rechist.Policy{Pattern: "s", Raw: 24 * time.Hour, Tiers: []rechist.Tier{{Every: time.Hour}}}); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-10 * time.Hour).Truncate(time.Hour)
	for i := range 120 {
		store(t, db, "s", base.Add(time.Duration(i)*time.Minute).UnixMilli(), fmt.Sprintf(`{"c":%d}`, i))
	}
	if _, err := db.RollUp(ctx); err != nil { // what the background rollup may have done already
		t.Fatal(err)
	}
	a := do(t, NewHandler(db), "GET", fmt.Sprintf("/api/aggregate?pattern=s&field=c&every=1h&start=%d", base.UnixMilli()), nil)
	if a.code != 200 {
		t.Fatalf("%d %s", a.code, a.body)
	}
	var got []struct {
		Name    string
		TierMs  int64 `json:"tier_ms"`
		Buckets []struct{ Count, Sum float64 }
	}
	if err := json.Unmarshal(a.body, &got); err != nil {
		t.Fatalf("%v: %s", err, a.body)
	}
	if len(got) != 1 || got[0].TierMs != time.Hour.Milliseconds() || len(got[0].Buckets) != 2 ||
		got[0].Buckets[0].Sum != 1770 || got[0].Buckets[1].Count != 60 {
		t.Fatalf("answer: %s", a.body)
	}
}
