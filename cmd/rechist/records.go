package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/seed178a96f3/rechist"
)

type recordsCmd struct {
	Pattern     string `arg:"" optional:"" default:"*" help:"${patternHelp} Default: every record."`
	formatFlags `embed:""`
	topicFlag   `embed:""`
}

func (c *recordsCmd) Help() string {
	return `Lists each matching record with its row count and the times of its oldest
and newest rows. Counting reads the record's index entries, so it takes
longer on deep histories.

Example:
  rechist records
  rechist records 'temperature::*' --json
  rechist records --topics 'sensors.#'`
}

func (c *recordsCmd) Run(e *env) error {
	if err := checkPattern(c.Pattern); err != nil {
		return err
	}
	db, err := e.openRead(c.options()...)
	if err != nil {
		return err
	}
	defer db.Close()
	recs, err := db.Records(e.ctx, c.Pattern)
	if err != nil {
		return err
	}
	if err := c.print(e, recs); err != nil {
		return err
	}
	if len(recs) == 0 {
		fmt.Fprintf(e.stderr, "no records match %q%s\n", c.Pattern, c.literalStarNote(c.Pattern))
	}
	return db.Close()
}

// recordInfoLine is one line of records --json.
type recordInfoLine struct {
	Name  string `json:"name"`
	Rows  int64  `json:"rows"`
	First string `json:"first"`
	Last  string `json:"last"`
}

func (c *recordsCmd) print(e *env, recs []rechist.RecordInfo) error {
	bw := bufio.NewWriter(e.stdout)
	switch {
	case c.JSON:
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		for _, r := range recs {
			if err := enc.Encode(recordInfoLine{r.Name, r.Rows, c.format(r.First), c.format(r.Last)}); err != nil {
				return err
			}
		}
	case c.CSV:
		cw := csv.NewWriter(bw)
		cw.Write([]string{"record", "rows", "first", "last"})
		for _, r := range recs {
			cw.Write([]string{r.Name, strconv.FormatInt(r.Rows, 10), c.format(r.First), c.format(r.Last)})
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	default:
		t := newTable(bw, "RECORD", "ROWS", "FIRST", "LAST")
		for _, r := range recs {
			if err := t.add(r.Name, strconv.FormatInt(r.Rows, 10), c.format(r.First), c.format(r.Last)); err != nil {
				return err
			}
		}
		return t.flush()
	}
	return bw.Flush()
}
