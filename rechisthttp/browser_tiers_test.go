package rechisthttp

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/seed178a96f3/rechist"
)

// TestDashboardTiersInBrowser: a year of hourly history under raw 7 days
// and an hourly tier kept forever, after retention. The page lists the
// record whose raw rows are all gone, charts the last year of the live
// record and all of the other one, both from the tier, and says so; a
// link to the other opens its chart.
func TestDashboardTiersInBrowser(t *testing.T) {
	exe := chromium(t)
	path := filepath.Join(t.TempDir(), "history.db")
	ctx := t.Context()
	db, err := rechist.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetPolicy(ctx, rechist.Policy{Pattern: "sensor::*", Raw: 7 * 24 * time.Hour,
		Tiers: []rechist.Tier{{Every: time.Hour}}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Hour)
	const hours = 365 * 24
	var recs []rechist.Record[json.RawMessage]
	for i := range hours {
		at := now.Add(-time.Duration(hours-i)*time.Hour + 30*time.Minute)
		v := json.RawMessage(fmt.Sprintf(`{"celsius":%.1f}`, 10+8*math.Sin(float64(i)/500)))
		recs = append(recs, rechist.Record[json.RawMessage]{Name: "sensor::live", Value: v, StoredAt: at})
		if i < 200*24 { // stopped reporting 165 days ago
			recs = append(recs, rechist.Record[json.RawMessage]{Name: "sensor::gone", Value: v, StoredAt: at})
		}
	}
	if err := rechist.NewRepo[json.RawMessage](db).StoreMany(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RollUp(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := db.ApplyRetention(ctx); err != nil || n < hours {
		t.Fatalf("ApplyRetention = %d, %v", n, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := rechist.Open(ctx, path, rechist.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	h := NewHandler(ro, WithPollInterval(50*time.Millisecond))
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.CloseStreams()

	bctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	br := newBrowser(t, bctx, exe)
	br.run("load the page", chromedp.Navigate(srv.URL+"/"))
	br.wait("both records, one left in its tier", `document.querySelectorAll("#records tbody tr").length === 2 &&
		document.querySelector('tr[data-name="sensor::gone"] td.value')?.textContent === "(rolled up)"`)

	chart := func(record, rangeValue, bucketText string, bucketMs, minPoints int) {
		t.Helper()
		br.run("choose "+record, chromedp.Click(`tr[data-name="`+record+`"]`))
		br.run("range "+rangeValue, chromedp.SetValue(`#range`, rangeValue))
		br.run("apply the range", chromedp.Evaluate[chromedp.Void](`document.querySelector("#range").dispatchEvent(new Event("change"))`))
		br.wait(record+" charted from the tier", fmt.Sprintf(`document.querySelector("#legend")?.textContent.includes("1 h rollup tier") &&
			document.querySelector("#legend").textContent.includes("buckets of %s,") &&
			document.querySelector("#chart").dataset.every === "%d" && document.querySelector("#chart").dataset.tier === "3600000" &&
			document.querySelector("#name").textContent === %q && Number(document.querySelector("#mean")?.dataset.points) >= %d`,
			bucketText, bucketMs, record, minPoints))
		field, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.querySelector("#field").value`))
		if err != nil || field != "celsius" {
			t.Errorf("%s: the field offered is %q (%v), want celsius", record, field, err)
		}
		errText, _ := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.querySelector("#error").textContent`))
		if errText != "" {
			t.Errorf("%s, %s: the page shows an error: %s", record, rangeValue, errText)
		}
	}
	chart("sensor::live", "1y", "12 h", 43200000, 700)  // a year in 12-hour buckets
	chart("sensor::gone", "all", "12 h", 43200000, 390) // 200 days of its year in 12-hour buckets
	chart("sensor::live", "30d", "1 h", 3600000, 700)   // 30 days in hours

	// A link to the record left in its tier: opened afresh, the page
	// waits for /api/records to know the record and its tier.
	br.run("leave", chromedp.Navigate("about:blank"))
	br.run("open a link", chromedp.Navigate(srv.URL+"/#record=sensor::gone&field=celsius&range=all"))
	br.wait("the linked record charted from the tier", `document.querySelector("#name").textContent === "sensor::gone" &&
		document.querySelector("#chart").dataset.every === "43200000" && document.querySelector("#chart").dataset.tier === "3600000" &&
		Number(document.querySelector("#mean")?.dataset.points) >= 390`)
	br.checkConsole()
}
