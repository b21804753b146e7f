package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/seed178a96f3/rechist"
)

// outputFlags choose how records are printed.
type outputFlags struct {
	JSON      bool `name:"json" xor:"format" help:"Print JSON Lines ({\"name\",\"at\",\"value\"}), which ingest reads back."`
	CSV       bool `name:"csv" xor:"format" help:"Print CSV with a header: record,time,value."`
	timeFlags `embed:""`
}

// timeFlags choose the time zone of the times a command prints.
type timeFlags struct {
	UTC bool `name:"utc" help:"Show times in UTC instead of the local time zone."`
}

// timeLayout is how every command prints a time: RFC 3339 with
// milliseconds, the precision rows hold.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// loc is the time zone times print in.
func (f timeFlags) loc() *time.Location {
	if f.UTC {
		return time.UTC
	}
	return time.Local
}

// format prints t in timeLayout, or "-" for the zero time.
func (f timeFlags) format(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(f.loc()).Format(timeLayout)
}

// printRecords writes recs to w in the chosen format.
func (o outputFlags) printRecords(w io.Writer, recs []rechist.Record[json.RawMessage]) error {
	loc := o.loc()
	bw := bufio.NewWriter(w)
	switch {
	case o.JSON:
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		for _, r := range recs {
			line := struct {
				Name  string          `json:"name"`
				At    string          `json:"at"`
				Value json.RawMessage `json:"value"`
			}{r.Name, r.StoredAt.In(loc).Format(timeLayout), r.Value}
			if err := enc.Encode(line); err != nil {
				return err
			}
		}
	case o.CSV:
		cw := csv.NewWriter(bw)
		if err := cw.Write([]string{"record", "time", "value"}); err != nil {
			return err
		}
		for _, r := range recs {
			if err := cw.Write([]string{r.Name, r.StoredAt.In(loc).Format(timeLayout), string(r.Value)}); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	default:
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "RECORD\tTIME\tVALUE")
		for _, r := range recs {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.StoredAt.In(loc).Format(timeLayout), r.Value)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return bw.Flush()
}
