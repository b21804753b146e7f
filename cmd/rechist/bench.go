package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/bench"
	"github.com/seed178a96f3/rechist/internal/core"
)

type benchCmd struct {
	Engine     string         `default:"sqlite" enum:"sqlite,postgres" help:"The engine to measure: sqlite (files in a temporary directory) or postgres (on --url)."`
	URL        string         `name:"url" env:"RECHIST_BENCH_POSTGRES_URL" placeholder:"URL" help:"The PostgreSQL server for --engine postgres and for the sync step (a database the bench may create schemas in; also set by ${env})."`
	Quick      bool           `help:"The quick profile: 200k base rows, 1.5s per store scenario, no 10M-row run (about a minute on 2 cores)."`
	Records    *int           `placeholder:"N" help:"Distinct record names (default 1000)."`
	Rows       *int           `placeholder:"N" help:"Rows in the file the scenarios start from (full 1M, quick 200k)."`
	BigRows    *int           `name:"big-rows" placeholder:"N" help:"Rows of the second query run (full 10M; 0 skips it, as does --rows without --big-rows)."`
	Writers    []int          `placeholder:"N,..." help:"Goroutine counts of the store scenarios (default 1,16,64,256)."`
	For        *time.Duration `placeholder:"DURATION" help:"How long each store scenario runs (full 5s, quick 1.5s); 1m or more makes the mqtt step a sustained run of that length (rate and memory, first minute against last)."`
	Bulk       *int           `placeholder:"N" help:"Rows of the StoreMany scenario (default 100000)."`
	Runs       *int           `placeholder:"N" help:"Timed runs per query (median reported; full 50, quick 20)."`
	Dir        string         `placeholder:"DIR" help:"Where to build the files (default: a new temporary directory, removed afterwards)."`
	Progress   bool           `default:"true" negatable:"" help:"Print each step on stderr."`
	Only       []string       `placeholder:"STEP,..." enum:"store,bulk,query,cleanup,export,aggregate,records,stall,tiers,sync,list,prom,mqtt,aimx,commits,fleet,partitions" help:"Run only these steps (store, bulk, query, cleanup, export, aggregate, records, stall: writers beside a reader that stays, tiers: retention policies with rollup tiers, sync: SQLite to PostgreSQL on --url, list: the dashboard's list of the newest value of every record with one record years old, prom: the Prometheus API (rate over a day, series and label values over 10,000 records, a query over 1M rows), mqtt: the MQTT recorder against its own mosquitto (QoS 1 from 8 publishers against StoreMany and against a subscriber that stores nothing; publish to visible latency), aimx: the AimX 3.0 server (record.query against QueryLatest in process; subscribe latency from a writer process); with --engine postgres only: commits: one-row commits from separate handles against plain INSERTs, fleet: devices pushing with rechist.Sync, through --rtt; partitions: one table against time partitions of a day and of two hours, --rows spread over 30 days: reads and retention)."`
	RTT        time.Duration  `name:"rtt" placeholder:"DURATION" help:"With --engine postgres: the fleet step's devices reach the server through a proxy adding this round-trip time (e.g. 10ms)."`
	PageSize   int            `name:"page-size" placeholder:"BYTES" help:"Page size of the files the bench builds (default: rechist's, 1024)."`
	CPUProfile string         `name:"cpuprofile" placeholder:"FILE" help:"Write a CPU profile of the whole run to FILE."`
}

func (c *benchCmd) Help() string {
	return `Builds its own files in a temporary directory (--db and RECHIST_DB are not
used) and prints one table: each scenario, rechist's figure, its baseline
measured in the same run, and the ratio.

Example:
  rechist bench --quick
  rechist bench --rows 1000000 --big-rows 0 --writers 64 --for 10s
  rechist bench --engine postgres --url postgres://localhost/rechist --quick`
}

func (c *benchCmd) Run(e *env) error {
	cfg := bench.Full()
	if c.Quick {
		cfg = bench.Quick()
	}
	// A flag given sets its figure; none of them may be zero but --big-rows.
	for _, f := range []struct {
		dst  *int
		v    *int
		name string
	}{{&cfg.Records, c.Records, "records"}, {&cfg.BaseRows, c.Rows, "rows"}, {&cfg.BulkRows, c.Bulk, "bulk"}, {&cfg.QueryRuns, c.Runs, "runs"}} {
		if f.v == nil {
			continue
		}
		if *f.v < 1 {
			return usagef("--%s must be at least 1, got %d", f.name, *f.v)
		}
		*f.dst = *f.v
	}
	switch {
	case c.BigRows != nil && *c.BigRows < 0:
		return usagef("--big-rows must not be negative, got %d", *c.BigRows)
	case c.BigRows != nil:
		cfg.BigRows = *c.BigRows
	case c.Rows != nil:
		cfg.BigRows = 0
	}
	if len(c.Writers) > 0 {
		for _, w := range c.Writers {
			if w < 1 {
				return usagef("--writers must be positive, got %d", w)
			}
		}
		cfg.Writers = c.Writers
	}
	if c.For != nil {
		if *c.For <= 0 {
			return usagef("--for must be positive, got %v", *c.For)
		}
		cfg.StoreFor = *c.For
	}
	if c.Engine == "postgres" && c.URL == "" {
		return usagef("--engine postgres needs --url postgres://...")
	}
	if c.PageSize != 0 && !core.ValidPageSize(c.PageSize) {
		return usagef("--page-size must be a power of two from 512 to 65536, got %d", c.PageSize)
	}
	cfg.PageSize = c.PageSize
	cfg.Dir = c.Dir
	cfg.Only = c.Only
	cfg.SyncURL = c.URL
	if c.RTT < 0 {
		return usagef("--rtt must not be negative, got %v", c.RTT)
	}
	cfg.RTT = c.RTT
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if c.Progress {
		cfg.Progress = e.stderr
	}
	if c.Engine == "postgres" {
		return benchError(bench.RunPostgres(e.ctx, cfg, c.URL, e.stdout))
	}
	return benchError(bench.Run(e.ctx, cfg, e.stdout))
}

// benchError says that err comes from the bench, unless it is a library
// error, which already starts with "rechist: OP:".
func benchError(err error) error {
	var libErr *rechist.Error
	if err == nil || errors.As(err, &libErr) && strings.HasPrefix(err.Error(), "rechist: ") {
		return err
	}
	return fmt.Errorf("bench: %w", err)
}
