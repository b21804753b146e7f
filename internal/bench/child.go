package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/seed178a96f3/rechist"
)

// A scenario whose figure is a peak RSS runs in a child process of its
// own, so that the figure is that reader's alone and not the bench's
// process-wide high-water mark (VmHWM never goes down). The bench
// re-executes its own binary (os.Executable) with its own arguments and
// childEnv set to a JSON childTask; Run sees it before anything else, does
// that one task, prints one childMarker line with the result to its output
// and returns. This needs no change to the command line that calls Run:
// the same arguments lead the child back into Run.
//
// The child reports its own peak, VmHWM from /proc/self/status, read just
// before it exits. wait4's ru_maxrss is no use on Linux: Go starts a child
// with clone(CLONE_VM|CLONE_VFORK), so until exec the child runs in the
// parent's address space, and exec folds that address space's high-water
// mark into the child's maxrss: every child then reports at least the
// bench's own peak (a child that only opened a file showed 141.7 MiB, the
// bench's VmHWM to the KiB). ru_maxrss is the fallback where /proc is
// missing.
const (
	childEnv    = "RECHIST_BENCH_CHILD"
	childMarker = "rechist-bench-child "
)

// childTask is what a child process does.
type childTask struct {
	// Mode is "all" (Repo.All over every record, counting the rows),
	// "all-2mib" (the same with a 2 MiB page cache), "query" (Query
	// holding every row), "open" (Open and Close only: the floor of a
	// child's RSS) or "pause" (Repo.All paused after a few rows until its
	// standard input closes: see stall.go).
	Mode string `json:"mode"`
	// Path is the file to read; opened WithReadOnly.
	Path string `json:"path"`
}

// childResult is what a child process reports.
type childResult struct {
	Rows    int64         `json:"rows"`
	Bytes   int64         `json:"bytes"`
	Elapsed time.Duration `json:"elapsed"`
	// PeakKiB is the child's VmHWM at its end, 0 where /proc is missing.
	PeakKiB int64 `json:"peak_kib"`
}

// childSpec returns the task of this process if it is a bench child, and
// clears the variable so nothing the child starts inherits it.
func childSpec() (childTask, bool) {
	v, ok := os.LookupEnv(childEnv)
	if !ok {
		return childTask{}, false
	}
	os.Unsetenv(childEnv)
	var t childTask
	if err := json.Unmarshal([]byte(v), &t); err != nil {
		t.Mode = "invalid " + childEnv + ": " + err.Error()
	}
	return t, true
}

// runChild does the task and prints the result line.
func runChild(ctx context.Context, t childTask, out io.Writer) error {
	opts := []rechist.Option{rechist.WithReadOnly()}
	if t.Mode == "all-2mib" {
		opts = append(opts, rechist.WithCacheSize(2<<20))
	}
	h, err := rechist.Open(ctx, t.Path, opts...)
	if err != nil {
		return err
	}
	defer h.Close()
	var res childResult
	start := time.Now()
	switch t.Mode {
	case "open":
	case "all", "all-2mib":
		for rec, err := range rechist.NewRepo[json.RawMessage](h).All(ctx, "*", rechist.QueryParams{}) {
			if err != nil {
				return err
			}
			res.Rows++
			res.Bytes += int64(len(rec.Value))
		}
	case "pause":
		return pauseInAll(ctx, h, out)
	case "query":
		got, err := rechist.Query[json.RawMessage](ctx, h, "*", rechist.QueryParams{})
		if err != nil {
			return err
		}
		res.Rows = int64(len(got))
		for _, rec := range got {
			res.Bytes += int64(len(rec.Value))
		}
		runtime.KeepAlive(got)
	default:
		return fmt.Errorf("bench child: unknown task %q", t.Mode)
	}
	res.Elapsed = time.Since(start)
	if err := h.Close(); err != nil {
		return err
	}
	res.PeakKiB = selfPeakKiB()
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s%s\n", childMarker, b)
	return err
}

// childRun is a finished child's result and peak RSS.
type childRun struct {
	childResult
	maxRSSKiB int64
}

// runInChild runs t in a new process of the running binary and returns its
// result and its peak RSS.
func runInChild(ctx context.Context, t childTask) (childRun, error) {
	exe, err := os.Executable()
	if err != nil {
		return childRun{}, err
	}
	spec, err := json.Marshal(t)
	if err != nil {
		return childRun{}, err
	}
	cmd := exec.CommandContext(ctx, exe, childArgs(os.Args[1:])...)
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return childRun{}, fmt.Errorf("bench child %s: %w: %s", t.Mode, err, strings.TrimSpace(stderr.String()))
	}
	var run childRun
	found := false
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), childMarker); ok {
			if err := json.Unmarshal([]byte(line), &run.childResult); err != nil {
				return childRun{}, fmt.Errorf("bench child %s: %w", t.Mode, err)
			}
			found = true
		}
	}
	if !found {
		return childRun{}, errors.New("bench child " + t.Mode + ": no result line (is Run called with the same arguments?)")
	}
	run.maxRSSKiB = run.PeakKiB
	if run.maxRSSKiB == 0 {
		run.maxRSSKiB, err = maxRSSKiB(cmd.ProcessState)
	}
	return run, err
}

// childArgs is the bench's own arguments without the ones a child must not
// repeat: --cpuprofile would make it truncate and write the parent's
// profile.
func childArgs(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--cpuprofile" || a == "-cpuprofile":
			i++ // its value
		case strings.HasPrefix(a, "--cpuprofile=") || strings.HasPrefix(a, "-cpuprofile="):
		default:
			out = append(out, a)
		}
	}
	return out
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
