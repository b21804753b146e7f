package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"iter"
	"strconv"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/rowcsv"
)

// outputFlags choose how records are printed.
type outputFlags struct {
	JSON      bool `name:"json" xor:"format" help:"Print JSON Lines ({\"name\",\"at\",\"value\"}; \"at\" is Unix milliseconds after year 9999), which ingest reads back."`
	CSV       bool `name:"csv" xor:"format" help:"Print CSV with a header: record,ts,time,value (ts: Unix milliseconds), as /api/export sends it."`
	timeFlags `embed:""`
}

// timeFlags choose the time zone of the times a command prints.
type timeFlags struct {
	UTC bool `name:"utc" help:"Show times in UTC instead of the local time zone."`
	// zone, when set, is the zone times print in (agg --tz).
	zone *time.Location
}

// timeLayout is how every command prints a time: RFC 3339 with
// milliseconds, the precision rows hold.
const timeLayout = rowcsv.TimeLayout

// loc is the time zone times print in.
func (f timeFlags) loc() *time.Location {
	switch {
	case f.UTC:
		return time.UTC
	case f.zone != nil:
		return f.zone
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

// printRecords writes the records of seq to w in the chosen format as
// they come, and returns how many it wrote. seq's error (yielded last)
// ends the output, with the rows before it printed.
func (o outputFlags) printRecords(w io.Writer, seq iter.Seq2[rechist.Record[json.RawMessage], error]) (int64, error) {
	loc := o.loc()
	bw := bufio.NewWriterSize(w, 64<<10)
	var n int64
	var write func(r rechist.Record[json.RawMessage]) error
	var done func() error
	switch {
	case o.JSON:
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		write = func(r rechist.Record[json.RawMessage]) error {
			return enc.Encode(recordLine{r.Name, jsonTime(r.StoredAt.In(loc)), r.Value})
		}
		done = bw.Flush
	case o.CSV:
		cw := csv.NewWriter(bw)
		cw.Write(rowcsv.Header)
		write = func(r rechist.Record[json.RawMessage]) error {
			return cw.Write(rowcsv.Fields(r, loc))
		}
		done = func() error {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
			return bw.Flush()
		}
	default:
		tw := newTable(bw, "RECORD", "TIME", "VALUE")
		write = func(r rechist.Record[json.RawMessage]) error {
			return tw.add(r.Name, r.StoredAt.In(loc).Format(timeLayout), string(r.Value))
		}
		done = tw.flush
	}
	for r, err := range seq {
		if err != nil {
			// What came before the error is printed.
			if ferr := done(); ferr != nil {
				return n, ferr
			}
			return n, err
		}
		if err := write(r); err != nil {
			return n, err
		}
		n++
	}
	return n, done()
}

// recordLine is one line of --json: what ingest reads back.
type recordLine struct {
	Name  string          `json:"name"`
	At    json.RawMessage `json:"at"`
	Value json.RawMessage `json:"value"`
}

// jsonTime is "at" of a --json line: the time as a timeLayout string, or,
// when its year in the zone it prints in has not four digits (after 9999:
// a file from another program can hold any int64 millisecond), as Unix
// milliseconds, a number. RFC 3339 has no other years, so ingest would
// refuse "292278994-08-17T07:12:55.807Z"; it reads the number.
func jsonTime(t time.Time) json.RawMessage {
	if y := t.Year(); y < 0 || y > 9999 {
		return strconv.AppendInt(nil, t.UnixMilli(), 10)
	}
	b := append(make([]byte, 0, len(timeLayout)+8), '"')
	return append(t.AppendFormat(b, timeLayout), '"')
}
