package rechisthttp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/seed178a96f3/rechist"
)

// browserRequired makes a missing browser a failure instead of a skip; CI
// sets it.
const browserRequired = "RECHIST_TEST_BROWSER_REQUIRED"

// chromium finds a Chromium or Chrome binary: RECHIST_TEST_CHROMIUM, or
// Debian's chromium on the PATH.
func chromium(t *testing.T) string {
	if p := os.Getenv("RECHIST_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium binary found (apt-get install chromium, or set RECHIST_TEST_CHROMIUM): the dashboard's browser test did not run"
	if os.Getenv(browserRequired) == "1" {
		t.Fatal(msg + "; " + browserRequired + "=1 requires it")
	}
	t.Skip(msg)
	return ""
}

var demoCities = []string{"graz", "linz", "vienna"}

// demoDB writes a day of demo-like history, one row per record and minute,
// ending now.
func demoDB(t *testing.T, path string) {
	db, err := rechist.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var recs []rechist.Record[json.RawMessage]
	now := time.Now().Truncate(time.Minute)
	for i := range 24 * 60 {
		at := now.Add(-time.Duration(24*60-1-i) * time.Minute)
		for c, city := range demoCities {
			temp := 5 + 4*math.Sin(float64(i)/200+float64(c))
			recs = append(recs,
				rechist.Record[json.RawMessage]{Name: "temperature::" + city, StoredAt: at,
					Value: json.RawMessage(fmt.Sprintf(`{"celsius":%.1f}`, temp))},
				rechist.Record[json.RawMessage]{Name: "accuracy::" + city, StoredAt: at,
					Value: json.RawMessage(fmt.Sprintf(`{"value":%.3f,"city":%q}`, 0.9+0.05*math.Cos(float64(i)/90), city))})
		}
	}
	if err := rechist.NewRepo[json.RawMessage](db).StoreMany(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestDashboardInBrowser loads the page in headless Chromium, served
// read-only under a prefix: it lists the records, draws a chart for one,
// shows a value another process stores after the page loaded, and its
// download link works. No console errors. Every wait is bounded by the
// test's context.
func TestDashboardInBrowser(t *testing.T) {
	exe := chromium(t)
	path := filepath.Join(t.TempDir(), "history.db")
	demoDB(t, path)
	db, err := rechist.Open(t.Context(), path, rechist.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mux := http.NewServeMux()
	h := NewHandler(db, WithPollInterval(50*time.Millisecond))
	mux.Handle("/history/", http.StripPrefix("/history", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer h.CloseStreams()

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	br := newBrowser(t, ctx, exe)
	bctx, run, wait := br.ctx, br.run, br.wait

	run("load the page", chromedp.Navigate(srv.URL+"/history/"))
	wait("the record list", `document.querySelectorAll("#records tbody tr").length === 6`)
	names, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#records tbody tr")].map(tr => tr.dataset.name)`))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, kind := range []string{"accuracy", "temperature"} {
		for _, c := range demoCities {
			want = append(want, kind+"::"+c)
		}
	}
	if !slices.Equal(names, want) {
		t.Errorf("the list shows %q, want %q", names, want)
	}
	wait("the live stream", `document.querySelector("#live").textContent === "live"`)

	run("choose a record", chromedp.Click(`tr[data-name="temperature::vienna"]`))
	wait("a chart with points", `Number(document.querySelector("#mean")?.dataset.points) > 100`)
	d, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector("#mean").getAttribute("d")`))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(d, "L"); n < 100 {
		t.Errorf("the mean line has %d segments: %.200s", n, d)
	}
	band, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector("#band").getAttribute("d")`))
	if !strings.HasSuffix(band, "Z") {
		t.Errorf("the min-max band is not a closed path: %.200s", band)
	}
	field, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector("#field").value`))
	if field != "celsius" {
		t.Errorf("the field offered is %q, want celsius", field)
	}

	// The download link: fetched by the page itself, so its relative URL
	// resolves as a click would.
	for _, link := range []struct{ id, head string }{{"dl-csv", "record,ts,time,value\ntemperature::vienna,"}, {"dl-jsonl", `{"name":"temperature::vienna",`}} {
		text, err := chromedp.Run(bctx, chromedp.Evaluate[string](
			`fetch(document.querySelector("#`+link.id+`").href).then(r => r.ok ? r.text() : "status " + r.status)`,
			chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(text, link.head) || strings.Count(text, "\n") < 1000 {
			t.Errorf("%s: %d lines, starting %.120q", link.id, strings.Count(text, "\n"), text)
		}
	}
	href, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector("#dl-csv").href`))
	req, _ := http.NewRequestWithContext(ctx, "GET", href, nil)
	res, err := http.DefaultClient.Do(req)
	if err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("GET %s: %d %v", href, res.StatusCode, res.Header)
		}
	} else {
		t.Error(err)
	}

	// A value another process stores shows up in the list and the chart.
	before, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelector("#mean").dataset.points|0`))
	helper(t, path, "store", "temperature::vienna", `{"celsius":42.5}`)
	wait("the live value in the list", `document.querySelector('tr[data-name="temperature::vienna"] td.value')?.textContent.includes("42.5")`)
	wait("the live value in the chart", fmt.Sprintf(`[...document.querySelectorAll("#chart text")].some(t => Number(t.textContent) >= 42) || Number(document.querySelector("#mean").dataset.points) > %d`, before))

	if shot := os.Getenv("RECHIST_SCREENSHOT"); shot != "" {
		png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	br.checkConsole()
}

// browser is a headless Chromium tab whose console errors are collected
// from the start; every wait is bounded by the context it was made with.
type browser struct {
	t        *testing.T
	ctx      context.Context
	mu       sync.Mutex
	problems []string
}

// newBrowser starts one with a 1280x760 window; extra options come last
// (chromedp.Env("TZ=...") sets its time zone).
func newBrowser(t *testing.T, ctx context.Context, exe string, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 760))
	opts = append(opts, extra...)
	// A Chromium that exits before it listens (seen once in CI, with other
	// packages' tests loading the machine: nothing on its stderr but the
	// usual D-Bus and crashpad complaints) is started again, twice at most,
	// each time with a profile directory of its own (one it left behind may
	// hold its lock); any other failure ends the test.
	var bctx context.Context
	for attempt := 1; ; attempt++ {
		actx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(slices.Clone(opts), chromedp.UserDataDir(t.TempDir()))...)
		t.Cleanup(cancelAlloc)
		var cancelBrowser context.CancelFunc
		bctx, cancelBrowser = chromedp.NewContext(actx)
		t.Cleanup(cancelBrowser)
		err := chromedp.Do(bctx) // starts the browser and the tab
		if err == nil {
			break
		}
		if attempt == 3 || !strings.Contains(err.Error(), "chrome failed to start") {
			t.Fatal(err)
		}
		t.Logf("start %d of Chromium failed, starting it again: %v", attempt, err)
		cancelBrowser()
		cancelAlloc()
	}
	br := &browser{t: t, ctx: bctx}
	console := chromedp.Console(bctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				br.mu.Lock()
				br.problems = append(br.problems, m.String())
				br.mu.Unlock()
			}
		}
	}()
	return br
}

func (br *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	br.t.Helper()
	if err := chromedp.Do(br.ctx, actions...); err != nil {
		br.t.Fatalf("%s: %v", what, err)
	}
}

func (br *browser) wait(what, expr string) {
	br.t.Helper()
	if _, err := chromedp.Run(br.ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(0))); err != nil {
		br.t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

func (br *browser) checkConsole() {
	br.mu.Lock()
	defer br.mu.Unlock()
	if len(br.problems) > 0 {
		br.t.Errorf("console errors:\n%s", strings.Join(br.problems, "\n"))
	}
}
