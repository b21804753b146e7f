package bench

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
)

// table collects the result lines: a scenario, what rechist measured, and
// its ratio to each baseline.
type table struct {
	rows [][]string
}

func (t *table) add(cols ...string) { t.rows = append(t.rows, cols) }

func (t *table) print(out io.Writer) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tRECHIST\tBASELINE\tRATIO\tDETAIL")
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// rowsLabel writes a row count as "200k rows" or "4M rows".
func rowsLabel(rows int) string {
	if rows < 1_000_000 {
		return fmt.Sprintf("%dk rows", rows/1000)
	}
	return fmt.Sprintf("%dM rows", rows/1_000_000)
}

func rate(perSec float64) string { return fmt.Sprintf("%.0f rows/s", perSec) }

// peakRSS reads the process's peak resident set size from /proc.
func peakRSS() string {
	if kib := selfPeakKiB(); kib > 0 {
		return fmt.Sprintf("%d kB", kib)
	}
	return "unknown"
}

// selfPeakKiB is the process's VmHWM in KiB, 0 if /proc does not say.
func selfPeakKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kib
			}
		}
	}
	return 0
}
