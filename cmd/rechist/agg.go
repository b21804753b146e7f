package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/seed178a96f3/rechist"
)

type aggCmd struct {
	Pattern     string   `arg:"" help:"${patternHelp}"`
	Field       string   `placeholder:"PATH" help:"The number to summarize: a dot-separated path of object keys in the value (celsius, reading.value); default: the value itself. Rows without a number there are left out."`
	Every       duration `required:"" placeholder:"DURATION" help:"Bucket width (15m, 1h, 1d); buckets are aligned to the Unix epoch in UTC (1d: midnight UTC), or in --tz's local time."`
	TZ          string   `name:"tz" placeholder:"ZONE" help:"Align the buckets to this time zone's wall clock (an IANA name such as America/New_York, or Local for this machine's): 1d buckets start at local midnight, and times print in that zone unless --utc. Default: UTC."`
	rangeFlags  `embed:""`
	formatFlags `embed:""`
	topicFlag   `embed:""`
}

func (c *aggCmd) Help() string {
	return `Summarizes a numeric field per record in fixed time buckets, inside the
database: count, min, mean, max and last per bucket (--json and --csv add
sum and first). Empty buckets are left out.

Example:
  rechist agg 'temperature::*' --field celsius --every 1h --since 1d
  rechist agg accuracy::vienna --field value --every 1d --csv`
}

func (c *aggCmd) Run(e *env) error {
	if err := checkPattern(c.Pattern); err != nil {
		return err
	}
	if time.Duration(c.Every) < time.Millisecond {
		return usagef("--every must be at least 1ms, got %v", c.Every)
	}
	start, end, err := c.bounds()
	if err != nil {
		return err
	}
	var zone *time.Location
	if c.TZ != "" {
		if zone, err = time.LoadLocation(c.TZ); err != nil {
			return usagef("--tz %q: %v (want an IANA zone name such as Europe/Vienna, UTC or Local)", c.TZ, err)
		}
		if !c.UTC {
			c.zone = zone
		}
	}
	db, err := e.openRead(c.options()...)
	if err != nil {
		return err
	}
	defer db.Close()
	series, err := db.Aggregate(e.ctx, c.Pattern, rechist.AggregateParams{
		Field: c.Field, Every: time.Duration(c.Every), Start: start, End: end, Location: zone})
	if err != nil {
		return err
	}
	if err := c.print(e, series); err != nil {
		return err
	}
	if len(series) == 0 {
		fmt.Fprintf(e.stderr, "no numbers match %q%s%s\n", c.Pattern, c.fieldDesc(), c.literalStarNote(c.Pattern))
	}
	return db.Close()
}

func (c *aggCmd) fieldDesc() string {
	if c.Field == "" {
		return ""
	}
	return fmt.Sprintf(" in field %q", c.Field)
}

// bucketLine is one line of agg --json.
type bucketLine struct {
	Name  string  `json:"name"`
	Start string  `json:"start"`
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	Max   float64 `json:"max"`
	Sum   float64 `json:"sum"`
	First float64 `json:"first"`
	Last  float64 `json:"last"`
	// Tier is the width of the rollup tier that served the series' whole
	// buckets ("" for raw rows alone).
	Tier string `json:"tier,omitempty"`
}

func (c *aggCmd) print(e *env, series []rechist.Series) error {
	if !c.JSON {
		// Which data served, beside the output it does not change.
		for _, s := range series {
			if s.Tier != 0 {
				fmt.Fprintf(e.stderr, "%s: whole %s buckets from its rollup tier, the rest from raw rows\n", s.Name, tierText(s.Tier))
			}
		}
	}
	bw := bufio.NewWriter(e.stdout)
	exact := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	switch {
	case c.JSON:
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		for _, s := range series {
			for _, b := range s.Buckets {
				if err := enc.Encode(bucketLine{s.Name, c.format(b.Start), b.Count, b.Min, b.Mean, b.Max, b.Sum, b.First, b.Last, tierText(s.Tier)}); err != nil {
					return err
				}
			}
		}
	case c.CSV:
		cw := csv.NewWriter(bw)
		cw.Write([]string{"record", "start", "count", "min", "mean", "max", "sum", "first", "last"})
		for _, s := range series {
			for _, b := range s.Buckets {
				cw.Write([]string{s.Name, c.format(b.Start), strconv.FormatInt(b.Count, 10),
					exact(b.Min), exact(b.Mean), exact(b.Max), exact(b.Sum), exact(b.First), exact(b.Last)})
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	default:
		t := newTable(bw, "RECORD", "BUCKET", "COUNT", "MIN", "MEAN", "MAX", "LAST")
		for _, s := range series {
			for _, b := range s.Buckets {
				if err := t.add(s.Name, c.format(b.Start), strconv.FormatInt(b.Count, 10),
					short(b.Min), short(b.Mean), short(b.Max), short(b.Last)); err != nil {
					return err
				}
			}
		}
		return t.flush()
	}
	return bw.Flush()
}

// tierText is a tier width as agg prints it ("" for none).
func tierText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return duration(d).String()
}

// short formats a number for the table: as stored when it is whole or
// has few digits, else rounded to six significant digits (a mean's long
// tail), without an exponent where plain digits are as short.
func short(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if v == math.Trunc(v) || len(s) <= 8 {
		return s
	}
	g := strconv.FormatFloat(v, 'g', 6, 64)
	if strings.ContainsAny(g, "e") {
		return s
	}
	return g
}
