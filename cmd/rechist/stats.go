package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seed178a96f3/rechist"
)

type statsCmd struct {
	Top       int  `default:"10" help:"How many records to list by row count."`
	JSON      bool `name:"json" help:"Print the summary as one JSON object (sizes in bytes, times as RFC 3339 strings or null)."`
	timeFlags `embed:""`
}

func (c *statsCmd) Help() string {
	return `Free space is what deleted rows left inside the file; rechist compact gives
it back to the file system.

Example:
  rechist stats --top 5
  rechist stats --json --top 0`
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
	if c.JSON {
		err = c.printJSON(e, db.Path(), s)
	} else {
		err = c.printTable(e, db.Path(), s)
	}
	if err != nil {
		return err
	}
	return db.Close()
}

func (c *statsCmd) printTable(e *env, path string, s rechist.Summary) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "database\t%s\n", path)
	if isURL(path) {
		fmt.Fprintf(tw, "table size\t%s\n", bytesString(s.FileBytes))
		if s.PartitionWidth > 0 {
			fmt.Fprintf(tw, "partitions\t%d of %s\n", s.Partitions, duration(s.PartitionWidth))
		}
	} else {
		fmt.Fprintf(tw, "file size\t%s (WAL %s)\n", bytesString(s.FileBytes), bytesString(s.WALBytes))
		free := bytesString(s.FreeBytes)
		if s.FreeBytes > 0 {
			free += " (rechist compact gives it back)"
		}
		fmt.Fprintf(tw, "free space\t%s\n", free)
	}
	fmt.Fprintf(tw, "rows\t%d\n", s.Rows)
	fmt.Fprintf(tw, "records\t%d\n", s.Records)
	fmt.Fprintf(tw, "oldest\t%s\n", c.format(s.Oldest))
	fmt.Fprintf(tw, "newest\t%s\n", c.format(s.Newest))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.Top) > 0 {
		fmt.Fprintf(e.stdout, "\ntop %s by rows:\n", plural(len(s.Top), "record"))
		fmt.Fprintln(tw, "RECORD\tROWS\tNEWEST")
		for _, r := range s.Top {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", r.Name, r.Rows, c.format(r.Newest))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// statsJSON is what stats --json prints. On PostgreSQL file_bytes is the
// table's size with its indexes, and wal_bytes and free_bytes are 0.
type statsJSON struct {
	Database  string `json:"database"`
	FileBytes int64  `json:"file_bytes"`
	WALBytes  int64  `json:"wal_bytes"`
	FreeBytes int64  `json:"free_bytes"`
	// Partitions and PartitionMs: the time partitions and their width in
	// ms; 0 when the table has none.
	Partitions  int          `json:"partitions"`
	PartitionMs int64        `json:"partition_ms"`
	Rows        int64        `json:"rows"`
	Records     int64        `json:"records"`
	Oldest      *string      `json:"oldest"`
	Newest      *string      `json:"newest"`
	Top         []recordJSON `json:"top"`
}

type recordJSON struct {
	Name   string  `json:"name"`
	Rows   int64   `json:"rows"`
	Newest *string `json:"newest"`
}

func (c *statsCmd) printJSON(e *env, path string, s rechist.Summary) error {
	at := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		v := c.format(t)
		return &v
	}
	out := statsJSON{Database: path, FileBytes: s.FileBytes, WALBytes: s.WALBytes, FreeBytes: s.FreeBytes,
		Partitions: s.Partitions, PartitionMs: s.PartitionWidth.Milliseconds(),
		Rows: s.Rows, Records: s.Records, Oldest: at(s.Oldest), Newest: at(s.Newest), Top: []recordJSON{}}
	for _, r := range s.Top {
		out.Top = append(out.Top, recordJSON{Name: r.Name, Rows: r.Rows, Newest: at(r.Newest)})
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// isURL says whether --db names a server (postgres://...) rather than a file.
func isURL(path string) bool { return strings.Contains(path, "://") }

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
