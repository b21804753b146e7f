package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/seed178a96f3/rechist"
)

// stallRuns is how many times each stall scenario runs; medians are
// reported.
const stallRuns = 3

// stallWriters is the goroutines storing in the stall step.
const stallWriters = 16

// pausedMarker is the line a "pause" child prints once its All is paused.
const pausedMarker = "rechist-bench-paused"

// stallScenarios measures Store from stallWriters goroutines alone and
// beside a reader that stays: an All iteration paused after a few rows,
// in another process (as `rechist serve` exporting to a client that
// stopped reading) and in this one (a consumer that stopped pulling).
// Runs alternate, so that drift on a shared machine hits all three.
func (r *runner) stallScenarios(ctx context.Context) error {
	work := r.path("stall.db")
	if err := copyFile(r.path("base.db"), work); err != nil {
		return err
	}
	var alone, child, local []float64
	var childLat, localLat []storeResult
	for n := range stallRuns {
		r.progress("stall: Store alone (%d of %d)", n+1, stallRuns)
		res, err := measureStore(ctx, work, rechist.SyncNormal, stallWriters, r.cfg.StoreFor)
		if err != nil {
			return err
		}
		alone = append(alone, res.rate())

		r.progress("stall: Store beside a paused All in another process (%d of %d)", n+1, stallRuns)
		stop, err := startPausedChild(ctx, work)
		if err != nil {
			return err
		}
		res, err = measureStore(ctx, work, rechist.SyncNormal, stallWriters, r.cfg.StoreFor)
		if serr := stop(); err == nil {
			err = serr
		}
		if err != nil {
			return err
		}
		child, childLat = append(child, res.rate()), append(childLat, res)

		r.progress("stall: Store beside a paused All in this process (%d of %d)", n+1, stallRuns)
		res, err = storeBesidePausedAll(ctx, work, r.cfg.StoreFor)
		if err != nil {
			return err
		}
		local, localLat = append(local, res.rate()), append(localLat, res)
	}
	a := medianOf(alone)
	for _, c := range []struct {
		what  string
		rates []float64
		runs  []storeResult
	}{{"another process", child, childLat}, {"this process", local, localLat}} {
		m := medianOf(c.rates)
		r.t.add(fmt.Sprintf("Store, %d goroutines, NORMAL, beside a paused All in %s vs alone", stallWriters, c.what),
			rate(m), rate(a), ratio(m, a),
			fmt.Sprintf("medians of %d alternating runs; the median run: %s", stallRuns, medianRun(c.runs, m).detail()))
	}
	return nil
}

// medianRun is the run of runs whose rate is m.
func medianRun(runs []storeResult, m float64) storeResult {
	for _, r := range runs {
		if r.rate() == m {
			return r
		}
	}
	return runs[0]
}

// storeBesidePausedAll opens path, pauses an All over it after a few rows
// and measures Store on the same DB meanwhile.
func storeBesidePausedAll(ctx context.Context, path string, d time.Duration) (storeResult, error) {
	h, err := rechist.Open(ctx, path, rechist.WithSynchronous(rechist.SyncNormal))
	if err != nil {
		return storeResult{}, err
	}
	defer h.Close()
	next, stop := iter.Pull2(rechist.NewRepo[json.RawMessage](h).All(ctx, "*", rechist.QueryParams{}))
	for range 10 {
		if _, err, ok := next(); !ok || err != nil {
			stop()
			return storeResult{}, fmt.Errorf("stall: All ended after fewer than 10 rows: %v", err)
		}
	}
	res, err := storeOn(ctx, h, stallWriters, d)
	stop()
	if cerr := h.Close(); err == nil {
		err = cerr
	}
	return res, err
}

// startPausedChild starts a child process that pauses an All over path
// after a few rows, waits until it says so, and returns the func that ends
// it (closes its standard input) and waits for it.
func startPausedChild(ctx context.Context, path string) (stop func() error, err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	spec, err := json.Marshal(childTask{Mode: "pause", Path: path})
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, childArgs(os.Args[1:])...)
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop = func() error {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("bench child pause: %w: %s", err, strings.TrimSpace(stderr.String()))
		}
		return nil
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if sc.Text() == pausedMarker {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return stop, nil
		}
	}
	if err := stop(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("bench child pause: ended without pausing")
}

// pauseInAll is the "pause" child: it reads a few rows with All, says so
// on out, and stays paused in the iteration (one read transaction) until
// its standard input closes.
func pauseInAll(ctx context.Context, h *rechist.DB, out io.Writer) error {
	n := 0
	for _, err := range rechist.NewRepo[json.RawMessage](h).All(ctx, "*", rechist.QueryParams{}) {
		if err != nil {
			return err
		}
		if n++; n == 10 {
			fmt.Fprintln(out, pausedMarker)
			_, _ = io.Copy(io.Discard, os.Stdin)
			return nil
		}
	}
	return fmt.Errorf("bench child pause: the file holds only %d rows", n)
}
