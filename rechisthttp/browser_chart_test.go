package rechisthttp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/seed178a96f3/rechist"
)

// The zones the chart tests run the browser in: Kathmandu's offset is not
// whole hours (a tick aligned to the epoch is not round there), New York
// changes to and from daylight saving time.
const (
	zoneKathmandu = "Asia/Kathmandu"
	zoneNewYork   = "America/New_York"
)

// chartDB is demoDB plus two records: gappy::a, every minute of the last
// day but for three hours (10 to 7 hours ago), and stale::a, every minute
// of six hours that ended three days ago. It returns stale::a's last time.
func chartDB(t *testing.T, path string) time.Time {
	t.Helper()
	demoDB(t, path)
	db, err := rechist.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().Truncate(time.Minute)
	var recs []rechist.Record[json.RawMessage]
	for i := range 24 * 60 {
		at := now.Add(-time.Duration(24*60-1-i) * time.Minute)
		if age := now.Sub(at); age > 7*time.Hour && age <= 10*time.Hour {
			continue
		}
		recs = append(recs, rechist.Record[json.RawMessage]{Name: "gappy::a", StoredAt: at,
			Value: json.RawMessage(fmt.Sprintf(`{"watts":%d}`, 100+i%50))})
	}
	staleLast := now.Add(-72 * time.Hour)
	for i := range 6 * 60 {
		recs = append(recs, rechist.Record[json.RawMessage]{Name: "stale::a", StoredAt: staleLast.Add(-time.Duration(i) * time.Minute),
			Value: json.RawMessage(fmt.Sprintf(`{"celsius":%d,"humidity":63,"room":"attic"}`, 20+i%3))})
	}
	if err := rechist.NewRepo[json.RawMessage](db).StoreMany(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return staleLast
}

// chartServer serves path read-only at /history/ with the given options.
func chartServer(t *testing.T, path string, opts ...Option) *httptest.Server {
	t.Helper()
	db, err := rechist.Open(t.Context(), path, rechist.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(db, append([]Option{WithPollInterval(50 * time.Millisecond)}, opts...)...)
	mux := http.NewServeMux()
	mux.Handle("/history/", http.StripPrefix("/history", h))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		h.CloseStreams()
		db.Close()
	})
	return srv
}

// eval evaluates expr in the page, failing the test on an error.
func eval[T any](br *browser, what, expr string) T {
	br.t.Helper()
	v, err := chromedp.Run(br.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		br.t.Fatalf("%s (%s): %v", what, expr, err)
	}
	return v
}

// chartChecks is JavaScript that inspects the drawn chart and returns what
// is wrong with it, one string per problem: the page as wide as the
// viewport at most, the list's columns within the list, the chart's text at least 11.5 CSS pixels as drawn
// (its computed font size times the SVG's scale), the value axis labelled
// with the field, the zone named, and the time axis' ticks on round local
// times of a step from the list, with labels that do not overlap.
const chartChecks = `((EXPECT_ZONE) => {
	const bad = [];
	const de = document.documentElement;
	if (de.scrollWidth > innerWidth) bad.push("the page is " + de.scrollWidth + " px wide in a " + innerWidth + " px viewport");
	const list = document.querySelector("#list").getBoundingClientRect();
	for (const c of document.querySelectorAll("#records th, #records td")) {
		const r = c.getBoundingClientRect();
		if (r.right > list.right + 0.5) { bad.push("the list cell " + JSON.stringify(c.textContent) + " ends at " + r.right + " px, the list at " + list.right); break; }
	}
	const svg = document.querySelector("#chart");
	const scale = svg.getScreenCTM().a;
	for (const t of svg.querySelectorAll("text")) {
		const px = parseFloat(getComputedStyle(t).fontSize) * scale;
		if (px < 11.5) { bad.push("chart text " + JSON.stringify(t.textContent) + " is " + px.toFixed(1) + " px"); break; }
	}
	const label = document.querySelector("#value-label")?.textContent;
	if (label !== document.querySelector("#field").value) bad.push("the value axis is labelled " + JSON.stringify(label));
	const zone = document.querySelector("#zone-label")?.textContent ?? "";
	if (!zone.includes(EXPECT_ZONE)) bad.push("the chart's zone reads " + JSON.stringify(zone) + ", want " + EXPECT_ZONE);
	const step = svg.dataset.tickStep ?? "";
	const bad2 = roundProblems([...svg.querySelectorAll("text.tick")].map(t => Number(t.dataset.t)), step);
	bad.push(...bad2);
	const ticks = [...svg.querySelectorAll("text.tick")].map(t => t.getBBox());
	if (ticks.length < 3) bad.push(ticks.length + " time ticks");
	for (let i = 1; i < ticks.length; i++) {
		if (ticks[i - 1].x + ticks[i - 1].width > ticks[i].x) bad.push("tick labels " + (i - 1) + " and " + i + " overlap");
	}
	return bad;
})`

// roundProblems is JavaScript: roundProblems(ticks, step) lists the ticks
// that are not round local times of step ("15m", "3h", "7d", "1mo"), the
// step itself when it is not in the list of round steps, and uneven
// spacing.
const roundProblems = `function roundProblems(ticks, step) {
	const steps = ["1s", "5s", "10s", "15s", "30s", "1m", "2m", "5m", "10m", "15m", "30m", "1h", "2h", "3h", "6h", "12h",
		"1d", "2d", "7d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "20y", "50y", "100y"];
	if (!steps.includes(step)) return ["tick step " + JSON.stringify(step) + " is not a round step"];
	const [, n, unit] = step.match(/^(\d+)(s|m|h|d|mo|y)$/);
	const bad = [];
	for (const t of ticks) {
		const d = new Date(t);
		const ok = d.getMilliseconds() === 0 && (unit === "s" ? d.getSeconds() % n === 0 : d.getSeconds() === 0 &&
			(unit === "m" ? d.getMinutes() % n === 0 : d.getMinutes() === 0 &&
			(unit === "h" ? d.getHours() % n === 0 : d.getHours() === 0 &&
			(unit === "d" ? n != 7 || d.getDay() === 1 : d.getDate() === 1 &&
			(unit === "mo" ? d.getMonth() % n === 0 : d.getMonth() === 0 && d.getFullYear() % n === 0)))));
		if (!ok) bad.push("tick " + d.toString() + " is not a round time of " + step);
	}
	const fixed = { s: 1e3, m: 6e4 }[unit];
	for (let i = 1; fixed && i < ticks.length; i++) {
		if (ticks[i] - ticks[i - 1] !== n * fixed) bad.push("ticks " + (i - 1) + " and " + i + " are not " + step + " apart");
	}
	return bad;
}`

// checkChart runs chartChecks in the page.
func checkChart(br *browser, what, zone string) {
	br.t.Helper()
	js := fmt.Sprintf("(() => { %s; return %s(%q); })()", roundProblems, chartChecks, zone)
	for _, p := range eval[[]string](br, what, js) {
		br.t.Errorf("%s: %s", what, p)
	}
}

// screenshot saves the page as RECHIST_SCREENSHOT_DIR/name.png when that
// variable is set.
func screenshot(br *browser, name string) {
	br.t.Helper()
	dir := os.Getenv("RECHIST_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(br.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		br.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		br.t.Fatal(err)
	}
}

// TestDashboardOnPhoneInBrowser: at 400 px (a phone, in Kathmandu) the page
// is no wider than the screen, the list shows all three columns, the chart
// takes most of the width and its text is readable; then the same at 1280
// px. Before a record is chosen, the chart's place says what to do; the
// list shows numbers readably with the raw JSON in the title, and names the
// zone of its times.
func TestDashboardOnPhoneInBrowser(t *testing.T) {
	exe := chromium(t)
	path := filepath.Join(t.TempDir(), "history.db")
	chartDB(t, path)
	srv := chartServer(t, path)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	br := newBrowser(t, ctx, exe, chromedp.Env("TZ="+zoneKathmandu))

	br.run("a phone's viewport", chromedp.EmulateViewport(400, 850, chromedp.EmulatePortrait, chromedp.EmulateMobile))
	br.run("load the page", chromedp.Navigate(srv.URL+"/history/"))
	br.wait("the record list", `document.querySelectorAll("#records tbody tr").length === 8`)
	if w := eval[int](br, "innerWidth", `innerWidth`); w != 400 {
		t.Errorf("innerWidth %d, want 400 (the page wider than the phone is zoomed out)", w)
	}
	problems := eval[[]string](br, "the list on a phone", `(() => {
		const bad = [];
		const de = document.documentElement;
		if (de.scrollWidth > 400) bad.push("the page is " + de.scrollWidth + " px wide");
		for (const c of document.querySelectorAll("#records th, #records td")) {
			const r = c.getBoundingClientRect();
			if (r.right > 400) { bad.push(JSON.stringify(c.textContent) + " ends at " + r.right + " px"); break; }
		}
		const hint = document.querySelector("#hint");
		if (!hint || hint.hidden || hint.getBoundingClientRect().height < 20 || !/choose a record/i.test(hint.textContent))
			bad.push("no hint where the chart will be");
		return bad;
	})()`)
	for _, p := range problems {
		t.Errorf("phone, before a choice: %s", p)
	}
	screenshot(br, "phone-list")

	// The list: numbers readably, the raw JSON in the title; the zone in
	// the time column's header.
	type cell struct{ Text, Title string }
	value := func(name string) cell {
		return eval[cell](br, "the value of "+name, `(() => { const td = document.querySelector('tr[data-name="`+name+`"] td.value');
			return { Text: td.textContent, Title: td.title }; })()`)
	}
	if c := value("stale::a"); !strings.HasPrefix(c.Text, "celsius 20 · humidity 63") || c.Title != `{"celsius":20,"humidity":63,"room":"attic"}` {
		t.Errorf("stale::a's newest value shows %+v", c)
	}
	if c := value("accuracy::graz"); !strings.HasPrefix(c.Text, "value 0.") || !strings.Contains(c.Title, `"city":"graz"`) {
		t.Errorf("accuracy::graz's newest value shows %+v", c)
	}
	if h := eval[string](br, "the time header", `document.querySelector("#records thead th:last-child").textContent`); !strings.Contains(h, "UTC+5:45") {
		t.Errorf("the time column's header is %q, want the zone UTC+5:45 in it", h)
	}

	br.run("choose a record", chromedp.Click(`tr[data-name="temperature::vienna"]`))
	br.wait("a chart", `Number(document.querySelector("#mean")?.dataset.points) > 100`)
	checkChart(br, "phone", "UTC+5:45")
	screenshot(br, "phone-chart")

	// Buckets of an hour or more follow the browser's zone: the chart asks
	// /api/aggregate for them with tz=.
	br.run("range 30d", chromedp.SetValue(`#range`, "30d"))
	br.run("apply the range", chromedp.Evaluate[chromedp.Void](`document.querySelector("#range").dispatchEvent(new Event("change"))`))
	br.wait("the month's request", `performance.getEntriesByType("resource").some(e => e.name.includes("api/aggregate") && e.name.includes("tz="))`)
	if u := eval[string](br, "the month's request", `performance.getEntriesByType("resource").map(e => e.name).filter(n => n.includes("api/aggregate")).pop()`); !regexp.MustCompile(`tz=Asia%2FKath?mandu(&|$)`).MatchString(u) || !strings.Contains(u, "every=3600000ms") {
		t.Errorf("the chart of 30 days asked %s, want hourly buckets with tz=Asia/Kathmandu (Chromium says Katmandu)", u)
	} else if start, _ := strconv.ParseInt(regexp.MustCompile(`start=(\d+)`).FindStringSubmatch(u)[1], 10, 64); start%3600000 != 15*60000 {
		t.Errorf("the chart of 30 days starts at %d, not on a whole hour of Kathmandu (:15 UTC)", start)
	}
	width := eval[float64](br, "the chart's width", `document.querySelector("#chart").getBoundingClientRect().width`)
	plot := eval[float64](br, "the plot's width", `Number(document.querySelector("#chart").dataset.plotWidth)`)
	if width < 0.85*400 || plot < 0.75*400 {
		t.Errorf("on a 400 px phone the chart is %.0f px wide, its plot %.0f px: want most of the width", width, plot)
	}

	br.run("a desktop's viewport", chromedp.EmulateViewport(1280, 800))
	br.wait("the chart redrawn wider", `Number(document.querySelector("#chart").dataset.plotWidth) > 500`)
	checkChart(br, "desktop", "UTC+5:45")
	screenshot(br, "desktop-chart")
	if h := eval[bool](br, "the hint", `document.querySelector("#hint").hidden`); !h {
		t.Error("the hint stays after a record was chosen")
	}
	br.checkConsole()
}

// TestDashboardTicksInBrowser: the time axis' ticks for spans from ten
// seconds to ten years, at a phone's and a desktop's width, around New
// York's changes of daylight saving time, are round local times of a step
// from the list, and no more than fit.
func TestDashboardTicksInBrowser(t *testing.T) {
	exe := chromium(t)
	path := filepath.Join(t.TempDir(), "history.db")
	chartDB(t, path)
	srv := chartServer(t, path)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	br := newBrowser(t, ctx, exe, chromedp.Env("TZ="+zoneNewYork))
	br.run("load the page", chromedp.Navigate(srv.URL+"/history/"))
	br.wait("the page's script", `typeof timeTicks === "function"`)
	problems := eval[[]string](br, "the ticks", `(() => { `+roundProblems+`; return (() => {
		const bad = [];
		const starts = [Date.UTC(2026, 2, 7, 22, 13, 7, 123), Date.UTC(2026, 10, 1, 3, 59, 59), Date.UTC(2026, 0, 1, 4, 30), Date.now()];
		const spans = [1e4, 9e4, 36e5, 864e5, 6048e5, 2592e6, 31536e6, 10 * 31536e6];
		for (const s of starts) for (const span of spans) for (const width of [320, 1000]) {
			const { step, ticks } = timeTicks(s, s + span, width);
			const what = new Date(s).toString() + " + " + span + " ms at " + width + " px: ";
			if (ticks.length < 2 || ticks.length > width / 40) bad.push(what + ticks.length + " ticks");
			if (ticks.some(t => t < s || t > s + span)) bad.push(what + "a tick outside the range");
			bad.push(...roundProblems(ticks, step.name).map(p => what + p));
		}
		return bad;
	})(); })()`)
	for _, p := range problems {
		t.Error(p)
	}
	br.checkConsole()
}

// TestDashboardAddressInBrowser: the fragment keeps the record, the field
// and the range. A link opens that chart, choices add history entries that
// back and forward step through, a reload keeps the chart, a custom range
// survives, and a token in the fragment is taken out while the rest stays.
func TestDashboardAddressInBrowser(t *testing.T) {
	exe := chromium(t)
	path := filepath.Join(t.TempDir(), "history.db")
	chartDB(t, path)
	srv := chartServer(t, path)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	br := newBrowser(t, ctx, exe, chromedp.Env("TZ="+zoneNewYork))

	// shows waits for the page to show record's field over rangeValue in
	// buckets of every ms, with the address saying so.
	shows := func(what, record, field, rangeValue string, every int) {
		t.Helper()
		br.wait(what, fmt.Sprintf(`(() => {
			const p = new URLSearchParams(location.hash.slice(1));
			return document.querySelector("#name").textContent === %[1]q && document.querySelector("#field").value === %[2]q &&
				document.querySelector("#range").value === %[3]q && document.querySelector("#chart").dataset.every === "%[4]d" &&
				Number(document.querySelector("#mean")?.dataset.points) > 10 &&
				p.get("record") === %[1]q && p.get("field") === %[2]q && p.get("range") === %[3]q &&
				document.querySelector('tr.selected')?.dataset.name === %[1]q;
		})()`, record, field, rangeValue, every))
	}

	br.run("open a link", chromedp.Navigate(srv.URL+"/history/#record=temperature::linz&field=celsius&range=1h"))
	shows("the linked chart", "temperature::linz", "celsius", "1h", 5000)
	br.run("choose another record", chromedp.Click(`tr[data-name="accuracy::vienna"]`))
	shows("the chosen record", "accuracy::vienna", "value", "1h", 5000)
	br.run("range 7d", chromedp.SetValue(`#range`, "7d"))
	br.run("apply the range", chromedp.Evaluate[chromedp.Void](`document.querySelector("#range").dispatchEvent(new Event("change"))`))
	shows("the week", "accuracy::vienna", "value", "7d", 900000)

	// Back and forward are navigations within the document, with no load
	// event to wait for: history.back() and a wait for the page.
	br.run("back", chromedp.Evaluate[chromedp.Void](`history.back()`))
	shows("back to the hour", "accuracy::vienna", "value", "1h", 5000)
	br.run("back", chromedp.Evaluate[chromedp.Void](`history.back()`))
	shows("back to the link", "temperature::linz", "celsius", "1h", 5000)
	br.run("forward", chromedp.Evaluate[chromedp.Void](`history.forward()`))
	shows("forward", "accuracy::vienna", "value", "1h", 5000)
	br.run("reload", chromedp.Reload())
	shows("after a reload", "accuracy::vienna", "value", "1h", 5000)

	// A custom range, from a link opened afresh.
	to := time.Now().Add(-time.Hour).Truncate(time.Second)
	from := to.Add(-2 * time.Hour)
	custom := fmt.Sprintf("record=gappy::a&field=watts&range=custom&from=%s&to=%s",
		from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	br.run("leave", chromedp.Navigate("about:blank"))
	br.run("open a custom range", chromedp.Navigate(srv.URL+"/history/#"+custom))
	shows("the custom range", "gappy::a", "watts", "custom", 10000)
	ny, err := time.LoadLocation(zoneNewYork)
	if err != nil {
		t.Fatal(err)
	}
	inputs := eval[[]string](br, "the range's inputs", `[document.querySelector("#from").value, document.querySelector("#to").value,
		String(document.querySelector("#custom").hidden)]`)
	if want := []string{from.In(ny).Format("2006-01-02T15:04:05"), to.In(ny).Format("2006-01-02T15:04:05"), "false"}; strings.Join(inputs, " ") != strings.Join(want, " ") {
		t.Errorf("the custom range's inputs are %q, want %q", inputs, want)
	}
	if got := eval[string](br, "the address", `location.hash.slice(1)`); got != custom {
		t.Errorf("the address is #%s, want #%s", got, custom)
	}
	br.checkConsole()

	// A server with a token: the token comes in the fragment with the
	// chart, is kept for the session and leaves the address.
	tsrv := chartServer(t, path, WithToken("s3cret"))
	br.run("open a link with a token", chromedp.Navigate(tsrv.URL+"/history/#token=s3cret&record=temperature::graz&field=celsius&range=1h"))
	shows("the chart behind the token", "temperature::graz", "celsius", "1h", 5000)
	if h := eval[string](br, "the address", `location.href`); strings.Contains(h, "s3cret") {
		t.Errorf("the address keeps the token: %s", h)
	}
	br.wait("the live stream with the token", `document.querySelector("#live").textContent === "live"`)
	br.checkConsole()
}

// TestDashboardGapsInBrowser: a gap in the data breaks the line and the
// band; a range with no data says so and when the record last had data,
// and its button shows a range that holds it.
func TestDashboardGapsInBrowser(t *testing.T) {
	exe := chromium(t)
	path := filepath.Join(t.TempDir(), "history.db")
	staleLast := chartDB(t, path)
	srv := chartServer(t, path)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	br := newBrowser(t, ctx, exe, chromedp.Env("TZ="+zoneKathmandu))
	br.run("load the page", chromedp.Navigate(srv.URL+"/history/"))
	br.run("choose gappy::a", chromedp.Click(`tr[data-name="gappy::a"]`))
	br.wait("the chart", `Number(document.querySelector("#mean")?.dataset.points) > 100`)

	// Three hours missing in two-minute buckets: two runs, each a line of
	// its own and a closed band of its own, and no segment across the gap.
	type paths struct{ Mean, Band string }
	p := eval[paths](br, "the paths", `({ Mean: document.querySelector("#mean").getAttribute("d"), Band: document.querySelector("#band").getAttribute("d") })`)
	screenshot(br, "gap")
	if n := strings.Count(p.Mean, "M"); n != 2 {
		t.Errorf("the mean line has %d runs, want 2 (a gap of three hours): %.300s", n, p.Mean)
	}
	if n := strings.Count(p.Band, "Z"); n != 2 || strings.Count(p.Band, "M") != 2 {
		t.Errorf("the band has %d closed runs, want 2: %.300s", n, p.Band)
	}
	widest := eval[float64](br, "the widest step of the line", `(() => {
		let widest = 0;
		for (const run of document.querySelector("#mean").getAttribute("d").split("M").slice(1)) {
			const xs = run.split("L").map(pt => parseFloat(pt));
			for (let i = 1; i < xs.length; i++) widest = Math.max(widest, xs[i] - xs[i - 1]);
		}
		return widest / Number(document.querySelector("#chart").dataset.plotWidth);
	})()`)
	if widest > 0.01 {
		t.Errorf("a step of the line spans %.1f%% of the plot: the gap is bridged", 100*widest)
	}
	if l := eval[string](br, "the legend", `document.querySelector("#legend").textContent`); !strings.Contains(l, "1 gap in the data") {
		t.Errorf("the legend does not mention the gap: %q", l)
	}

	// stale::a last had data three days ago: the last day is empty.
	br.run("choose stale::a", chromedp.Click(`tr[data-name="stale::a"]`))
	br.wait("no data", `!document.querySelector("#nodata").hidden`)
	kathmandu, err := time.LoadLocation(zoneKathmandu)
	if err != nil {
		t.Fatal(err)
	}
	lastText := staleLast.In(kathmandu).Format("2006-01-02 15:04:05")
	msg := eval[string](br, "the message", `document.querySelector("#nodata").textContent`)
	if !strings.Contains(msg, "No data in this range") || !strings.Contains(msg, "last had data at "+lastText+" (UTC+5:45)") {
		t.Errorf("the empty range says %q; want no data and the last data at %s", msg, lastText)
	}
	hidden := eval[[]bool](br, "what an empty range hides", `[document.querySelector("#chart").hasAttribute("hidden"), document.querySelector("#legend").hidden]`)
	if !hidden[0] || !hidden[1] {
		t.Errorf("an empty range still shows the chart or legend (hidden: %v)", hidden)
	}
	screenshot(br, "no-data")
	br.run("jump to the data", chromedp.Click(`#jump`))
	br.wait("the day up to the last data", `Number(document.querySelector("#mean")?.dataset.points) > 100 &&
		document.querySelector("#nodata").hidden && document.querySelector("#range").value === "custom" &&
		new URLSearchParams(location.hash.slice(1)).get("range") === "custom"`)
	end := eval[string](br, "the custom range's end", `document.querySelector("#to").value`)
	if e, err := time.ParseInLocation("2006-01-02T15:04:05", end, kathmandu); err != nil || e.Before(staleLast) || e.After(staleLast.Add(time.Hour)) {
		t.Errorf("the range shown ends at %s, want just after %s", end, lastText)
	}
	if u, err := url.Parse(eval[string](br, "the address", `location.href`)); err != nil || !strings.Contains(u.Fragment, "record=stale::a") {
		t.Errorf("the address is %v (%v)", u, err)
	}
	br.checkConsole()
}
