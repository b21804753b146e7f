package rechisthttp

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// Rows rolled up into a tier are answered from it, and /api/aggregate says
// so (tier_ms); the buckets are the raw rows'.
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

// A record whose raw rows retention deleted is listed by /api/records with
// its tiers, fields and span, and /api/aggregate answers it from its tier,
// whether the range asks for few buckets (the chart's request) or many.
func TestRecordLeftInItsTiers(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := t.Context()
	if err := db.SetPolicy(ctx, rechist.Policy{Pattern: "s", Raw: time.Hour, Tiers: []rechist.Tier{{Every: time.Hour}}}); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-10 * time.Hour).Truncate(time.Hour)
	for i := range 120 {
		store(t, db, "s", base.Add(time.Duration(i)*time.Minute).UnixMilli(), fmt.Sprintf(`{"c":%d}`, i))
	}
	if _, err := db.RollUp(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := db.ApplyRetention(ctx); err != nil || n != 120 {
		t.Fatalf("ApplyRetention = %d, %v", n, err)
	}
	h := NewHandler(db)
	r := do(t, h, "GET", "/api/records?pattern=*", nil)
	want := fmt.Sprintf(`[{"name":"s","rows":0,"first":%d,"last":%d,"tiers_ms":[3600000],"fields":["c"]}]`,
		base.UnixMilli(), base.Add(119*time.Minute).UnixMilli())
	if r.code != 200 || string(r.body) != want+"\n" {
		t.Fatalf("/api/records: %d %s\nwant %s", r.code, r.body, want)
	}
	for _, q := range []string{
		fmt.Sprintf("start=%d&end=%d", base.UnixMilli(), time.Now().UnixMilli()), // a chart's range
		"start=0", // from the epoch: many buckets, spans from Records
	} {
		a := do(t, h, "GET", "/api/aggregate?pattern=s&field=c&every=1h&"+q, nil)
		if a.code != 200 || !strings.Contains(string(a.body), `"tier_ms":3600000`) || !strings.Contains(string(a.body), `"sum":1770`) {
			t.Errorf("/api/aggregate?%s: %d %s", q, a.code, a.body)
		}
	}
}
