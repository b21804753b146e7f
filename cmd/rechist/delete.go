package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/seed178a96f3/rechist"
)

type deleteCmd struct {
	Pattern    string `arg:"" help:"${patternHelp}"`
	rangeFlags `embed:""`
	Yes        bool `name:"yes" help:"Delete the rows. Without it, delete only counts what it would delete and changes nothing."`
	timeFlags  `embed:""`
	topicFlag  `embed:""`
}

func (c *deleteCmd) Help() string {
	return `Without --yes, delete opens the database read-only and says how many rows
it would delete. Both bounds are inclusive; without bounds every row of the
matching records goes.

Example:
  rechist delete 'temperature::*' --end 2026-11-01
  rechist delete accuracy::vienna --since 2h --yes`
}

func (c *deleteCmd) Run(e *env) error {
	if err := checkPattern(c.Pattern); err != nil {
		return err
	}
	start, end, err := c.bounds()
	if err != nil {
		return err
	}
	p := rechist.QueryParams{Start: start, End: end}
	what := c.describe(start, end, c.timeFlags)
	if !c.Yes {
		return c.count(e, p, what)
	}
	if !isURL(e.dbPath) {
		// Deleting from a file that is not there creates nothing.
		if _, err := os.Stat(e.dbPath); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete: %s does not exist", e.dbPath)
		}
	}
	db, err := e.open(c.options()...)
	if err != nil {
		return err
	}
	defer db.Close()
	records, err := recordsWithRows(e, db, c.Pattern, p)
	if err != nil {
		return err
	}
	n, err := db.Delete(e.ctx, c.Pattern, p)
	if err != nil {
		if e.ctx.Err() != nil {
			return interruption{fmt.Sprintf("interrupted after deleting %s%s", plural(n, "row"), what)}
		}
		if n > 0 {
			// Delete commits in chunks: these stay deleted.
			return fmt.Errorf("%w (%s%s deleted before that)", err, plural(n, "row"), what)
		}
		return err
	}
	fmt.Fprintf(e.stdout, "deleted %s of %s%s\n", plural(n, "row"), plural(records, "record"), what)
	return db.Close()
}

// recordsWithRows counts the records matching pattern with a row within
// p: an index lookup a record (the newest row in range of each).
func recordsWithRows(e *env, db *rechist.DB, pattern string, p rechist.QueryParams) (int64, error) {
	p.LimitPerRecord = 1
	var n int64
	for _, err := range rechist.NewRepo[json.RawMessage](db).All(e.ctx, pattern, p) {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// count says how many rows delete --yes would delete, without changing
// anything: the records' row counts when the range is unbounded, else
// the rows in range, streamed and counted.
func (c *deleteCmd) count(e *env, p rechist.QueryParams, what string) error {
	db, err := e.openRead(c.options()...)
	if err != nil {
		return err
	}
	defer db.Close()
	var rows, records int64
	if p.Start.IsZero() && p.End.IsZero() {
		recs, err := db.Records(e.ctx, c.Pattern)
		if err != nil {
			return err
		}
		for _, r := range recs {
			rows += r.Rows
			if r.Rows > 0 {
				records++
			}
		}
	} else {
		last := ""
		for r, err := range rechist.NewRepo[json.RawMessage](db).All(e.ctx, c.Pattern, p) {
			if err != nil {
				return err
			}
			rows++
			if records == 0 || r.Name != last {
				records, last = records+1, r.Name
			}
		}
	}
	if rows == 0 {
		fmt.Fprintf(e.stdout, "nothing to delete: no rows of records matching %q%s%s\n", c.Pattern, what, c.literalStarNote(c.Pattern))
		return db.Close()
	}
	fmt.Fprintf(e.stdout, "would delete %s of %s%s; run again with --yes to delete them\n",
		plural(rows, "row"), plural(records, "record"), what)
	return db.Close()
}
