package main

import (
	"encoding/json"
	"fmt"

	"github.com/seed178a96f3/rechist"
)

type latestCmd struct {
	Pattern     string `arg:"" help:"${patternHelp}"`
	N           int    `name:"limit-per-record" short:"n" default:"1" placeholder:"N" help:"Values per record, newest first (default 1)."`
	outputFlags `embed:""`
	topicFlag   `embed:""`
}

func (c *latestCmd) Help() string {
	return `Example:
  rechist latest 'accuracy::*' -n 3
  rechist latest sensors.temp.outdoor --json`
}

func (c *latestCmd) Run(e *env) error {
	if c.N < 1 {
		return usagef("-n must be at least 1, got %d", c.N)
	}
	if err := checkPattern(c.Pattern); err != nil {
		return err
	}
	return queryAndPrint(e, c.Pattern, rechist.QueryParams{LimitPerRecord: c.N}, c.outputFlags, c.topicFlag)
}

type queryCmd struct {
	Pattern        string `arg:"" help:"${patternHelp}"`
	rangeFlags     `embed:""`
	LimitPerRecord int  `name:"limit-per-record" short:"n" placeholder:"N" help:"At most N rows per record, newest first (default 0: all)."`
	Oldest         bool `help:"Each record's rows oldest first (time order), and -n keeps the oldest N."`
	outputFlags    `embed:""`
	topicFlag      `embed:""`
}

func (c *queryCmd) Help() string {
	return `Both bounds are inclusive. Example:
  rechist query 'temperature::*' --since 2h --limit-per-record 10
  rechist query accuracy::vienna --start 2026-11-24 --end '2026-11-24 12:00' --csv
  rechist query accuracy::vienna --since 1d --oldest     # in time order`
}

func (c *queryCmd) Run(e *env) error {
	if c.LimitPerRecord < 0 {
		return usagef("-n (--limit-per-record) must not be negative, got %d", c.LimitPerRecord)
	}
	if err := checkPattern(c.Pattern); err != nil {
		return err
	}
	start, end, err := c.bounds()
	if err != nil {
		return err
	}
	p := rechist.QueryParams{LimitPerRecord: c.LimitPerRecord, Start: start, End: end, OldestFirst: c.Oldest}
	return queryAndPrint(e, c.Pattern, p, c.outputFlags, c.topicFlag)
}

// queryAndPrint streams one query's rows to stdout as they come, as raw
// JSON values so that records of any type show. The arguments are checked
// before.
func queryAndPrint(e *env, pattern string, p rechist.QueryParams, out outputFlags, tf topicFlag) error {
	db, err := e.openRead(tf.options()...)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := out.printRecords(e.stdout, rechist.NewRepo[json.RawMessage](db).All(e.ctx, pattern, p))
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintf(e.stderr, "no rows match %q%s\n", pattern, tf.literalStarNote(pattern))
	}
	return db.Close()
}
