// Package bench measures rechist against in-run baselines on the same
// driver, schema and file system, for `rechist bench`.
//
// Baselines:
//   - limit: one transaction, one prepared INSERT per row, no Go-side
//     queueing, the same pragmas rechist uses: what SQLite can do through
//     this driver.
//   - seed design: one writer goroutine, one autocommit INSERT per store,
//     callers wait for a reply (the Rust crate's design), at the same
//     synchronous setting.
//   - seed query: the Rust crate's window-function SELECT with LIKE.
//   - scan: a plain indexed scan of the rows a time range selects.
//   - Go-side: the read side's steps (export, aggregate, records) against
//     what a program does without them: Query holding every row, the rows
//     fetched and summarised in Go, a plain GROUP BY.
//
// The export step measures each reader's peak memory in a child process of
// its own: Run re-executes the running binary with the same arguments and
// RECHIST_BENCH_CHILD set, and Run in the child does only that export (see
// child.go).
package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/seed178a96f3/rechist/internal/core"
)

// Config chooses the sizes of a run.
type Config struct {
	// Dir is where the database files are built; removed afterwards.
	Dir string
	// Records is the number of distinct record names (round-robin).
	Records int
	// BaseRows is the history the store, query and cleanup scenarios start
	// from; BigRows, if larger, adds a second query run at that size.
	BaseRows, BigRows int
	// Writers lists the goroutine counts of the store scenarios.
	Writers []int
	// StoreFor is how long each store scenario runs.
	StoreFor time.Duration
	// BulkRows is the size of the bulk (StoreMany) scenario.
	BulkRows int
	// QueryRuns is how many times each query is timed (median reported).
	QueryRuns int
	// Progress receives one line per step; nil is silent.
	Progress io.Writer
	// Only, if set, names the steps to run: store, bulk, query, cleanup,
	// export, aggregate, records, stall, tiers, sync, list, prom, mqtt, aimx; RunPostgres also
	// takes commits and fleet. The base file is built whatever runs.
	Only []string
	// PageSize, if set, is the page size of the files the bench builds
	// (rechist.WithPageSize); zero is rechist's default.
	PageSize int
	// SyncURL is the PostgreSQL server of the sync step; empty skips it.
	SyncURL string
	// TierRecords is the number of records of the tiers step's year files.
	TierRecords int
	// RTT, if set, puts a proxy that delays each direction by half of it
	// between the fleet step's devices and the server.
	RTT time.Duration
}

// Quick is a profile that finishes in about two minutes on 2 cores (the
// export step builds a 1M-row file whatever the profile).
func Quick() Config {
	return Config{Records: 1000, BaseRows: 200_000, Writers: []int{1, 16, 64, 256},
		StoreFor: 1500 * time.Millisecond, BulkRows: 100_000, QueryRuns: 20, TierRecords: 1}
}

// Full is the profile the README's table comes from.
func Full() Config {
	return Config{Records: 1000, BaseRows: 1_000_000, BigRows: 10_000_000, Writers: []int{1, 16, 64, 256},
		StoreFor: 5 * time.Second, BulkRows: 100_000, QueryRuns: 50, TierRecords: 10}
}

// steps are Run's steps, in the order it runs them.
var steps = []struct {
	name string
	run  func(*runner, context.Context) error
}{{"store", (*runner).storeScenarios}, {"bulk", (*runner).bulkScenario}, {"query", (*runner).queryScenarios},
	{"cleanup", (*runner).cleanupScenario}, {"export", (*runner).exportScenarios},
	{"aggregate", (*runner).aggregateScenarios}, {"records", (*runner).recordsScenarios},
	{"stall", (*runner).stallScenarios}, {"tiers", (*runner).tierScenarios}, {"sync", (*runner).syncScenarios},
	{"list", (*runner).listScenarios}, {"prom", (*runner).promScenarios}, {"mqtt", (*runner).mqttScenarios},
	{"aimx", (*runner).aimxScenarios}}

// Steps returns the names Config.Only accepts, in the order Run runs them.
func Steps() []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.name
	}
	return out
}

// Run measures every scenario and prints the table to out.
//
// In a child process the bench started itself (RECHIST_BENCH_CHILD set),
// Run does only the child's measurement and prints its result to out.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	if spec, ok := childSpec(); ok {
		return runChild(ctx, spec, out)
	}
	for _, name := range cfg.Only {
		if !slices.Contains(Steps(), name) {
			return fmt.Errorf("unknown step %q (steps: %s)", name, strings.Join(Steps(), ", "))
		}
	}
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "rechist-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.Dir = dir
	}
	setNames(cfg.Records)
	t := &table{}
	r := &runner{cfg: cfg, t: t}
	buildPageSize = cfg.PageSize
	pageSize := cfg.PageSize
	if pageSize == 0 {
		pageSize = core.DefaultPageSize
	}
	fmt.Fprintf(out, "rechist bench: %d records, %d base rows, %d-byte pages, %d CPUs (GOMAXPROCS %d), %s/%s, %s\n",
		cfg.Records, cfg.BaseRows, pageSize, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(out, "files in %s\n\n", cfg.Dir)
	start := time.Now()
	if _, err := r.fileFor(ctx, cfg.BaseRows); err != nil {
		return err
	}
	for _, step := range steps {
		if len(cfg.Only) > 0 && !slices.Contains(cfg.Only, step.name) {
			continue
		}
		if err := step.run(r, ctx); err != nil {
			return err
		}
	}
	t.print(out)
	fmt.Fprintf(out, "\npeak memory (VmHWM): %s; total time %v\n", peakRSS(), time.Since(start).Round(time.Second))
	return nil
}

type runner struct {
	cfg Config
	t   *table
	// files maps a number of base rows to the file holding them (fileFor).
	files map[int]string
}

func (r *runner) progress(format string, args ...any) {
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, format+"\n", args...)
	}
}

func (r *runner) path(name string) string { return filepath.Join(r.cfg.Dir, name) }
