package bench

import (
	"context"
	"fmt"
)

// exportRuns is how many child processes each export reader runs in, per
// size; the median is reported.
const exportRuns = 3

// exportScenarios reads every row of a file with Repo.All (streaming) and
// with Query (which holds them all), each in a child process of its own,
// and compares their speed and peak RSS: at 1M rows, and at 4M when
// BigRows is at least that (the full profile), to show which of the two
// grows with the file. Values are json.RawMessage in both, so neither
// pays for reflection.
func (r *runner) exportScenarios(ctx context.Context) error {
	sizes := []int{1_000_000}
	if r.cfg.BigRows >= 4_000_000 {
		sizes = append(sizes, 4_000_000)
	}
	var floor int64
	type peak struct{ all, query int64 }
	var first peak
	for i, rows := range sizes {
		path, err := r.fileFor(ctx, rows)
		if err != nil {
			return err
		}
		if i == 0 {
			r.progress("export: a child that only opens the file")
			run, err := runInChild(ctx, childTask{Mode: "open", Path: path})
			if err != nil {
				return err
			}
			floor = run.maxRSSKiB
		}
		var allRate, queryRate []float64
		var allRSS, queryRSS []int64
		for n := range exportRuns {
			// Alternate, so that drift on a shared machine hits both.
			for _, mode := range []string{"all", "query"} {
				r.progress("export: %s over %d rows in a child process (%d of %d)", mode, rows, n+1, exportRuns)
				run, err := runInChild(ctx, childTask{Mode: mode, Path: path})
				if err != nil {
					return err
				}
				if run.Rows != int64(rows) {
					return fmt.Errorf("export %s: read %d rows of %d", mode, run.Rows, rows)
				}
				rate := float64(run.Rows) / run.Elapsed.Seconds()
				if mode == "all" {
					allRate, allRSS = append(allRate, rate), append(allRSS, run.maxRSSKiB)
				} else {
					queryRate, queryRSS = append(queryRate, rate), append(queryRSS, run.maxRSSKiB)
				}
			}
		}
		r.progress("export: all over %d rows with a 2 MiB page cache", rows)
		small, err := runInChild(ctx, childTask{Mode: "all-2mib", Path: path})
		if err != nil {
			return err
		}
		ar, qr, am, qm := medianOf(allRate), medianOf(queryRate), medianOf(allRSS), medianOf(queryRSS)
		size := rowsLabel(rows)
		r.t.add(fmt.Sprintf("export: All(*) vs Query(*), %s", size), rate(ar), rate(qr), ratio(ar, qr),
			fmt.Sprintf("speed-up, medians of %d child processes, json.RawMessage values, open excluded", exportRuns))
		detail := fmt.Sprintf("peak RSS (VmHWM) of each child, lower is better; only opening the file: %s; All with WithCacheSize(2 MiB): %s (All's is SQLite's page cache); Query holds ~%.0f bytes a row",
			mib(floor), mib(small.maxRSSKiB), float64((qm-floor)*1024)/float64(rows))
		if i == 0 {
			first = peak{am, qm}
		} else {
			detail += fmt.Sprintf("; from %s: All %+.1f MiB, Query %+.1f MiB", rowsLabel(sizes[0]),
				float64(am-first.all)/1024, float64(qm-first.query)/1024)
		}
		r.t.add(fmt.Sprintf("export: peak RSS, All(*) vs Query(*), %s", size), mib(am), mib(qm), ratio(float64(am), float64(qm)), detail)
	}
	return nil
}
