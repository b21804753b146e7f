package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

type statsCmd struct {
	Top       int `default:"10" help:"How many records to list by row count."`
	timeFlags `embed:""`
}

func (c *statsCmd) Help() string {
	return `Example:
  rechist stats --top 5`
}

func (c *statsCmd) Run(e *env) error {
	if c.Top < 0 {
		return usagef("--top must not be negative, got %d", c.Top)
	}
	db, err := e.openRead()
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := db.Summary(e.ctx, c.Top)
	if err != nil {
		return err
	}
	show := c.format
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "database\t%s\n", db.Path())
	if strings.Contains(e.dbPath, "://") {
		fmt.Fprintf(tw, "table size\t%s\n", bytesString(s.FileBytes))
	} else {
		fmt.Fprintf(tw, "file size\t%s (WAL %s)\n", bytesString(s.FileBytes), bytesString(s.WALBytes))
	}
	fmt.Fprintf(tw, "rows\t%d\n", s.Rows)
	fmt.Fprintf(tw, "records\t%d\n", s.Records)
	fmt.Fprintf(tw, "oldest\t%s\n", show(s.Oldest))
	fmt.Fprintf(tw, "newest\t%s\n", show(s.Newest))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.Top) > 0 {
		fmt.Fprintf(e.stdout, "\ntop %d records by rows:\n", len(s.Top))
		fmt.Fprintln(tw, "RECORD\tROWS\tNEWEST")
		for _, r := range s.Top {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", r.Name, r.Rows, show(r.Newest))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return db.Close()
}

// bytesString formats n bytes with a binary unit.
func bytesString(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
