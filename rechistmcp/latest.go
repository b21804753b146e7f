package rechistmcp

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/seed178a96f3/rechist"
)

// rowOut is one stored value.
type rowOut struct {
	Name string `json:"name"`
	At   string `json:"at" jsonschema:"when the value was stored (RFC 3339)"`
	value
}

type latestIn struct {
	Pattern string `json:"pattern"`
	N       int    `json:"n"`
	Limit   int    `json:"limit"`
	TZ      string `json:"tz"`
}

type latestOut struct {
	Values    []latestRow `json:"values" jsonschema:"by record name, then newest first"`
	Records   int         `json:"records_total" jsonschema:"how many matching records hold raw rows"`
	Skipped   int64       `json:"rows_skipped,omitempty" jsonschema:"rows left out because they are not JSON (counted while this call ran)"`
	Shown     int         `json:"records_shown" jsonschema:"how many records values covers"`
	Truncated bool        `json:"truncated" jsonschema:"true when values covers fewer records than match"`
	Note      string      `json:"note,omitempty"`
}

type latestRow struct {
	rowOut
	Age string `json:"age" jsonschema:"how long before now it was stored"`
}

func latestTool(c config) *mcp.Tool {
	return &mcp.Tool{
		Name: "latest_values",
		Description: "The newest value(s) of each record matching a pattern, with when each was stored and how long ago: " +
			"the current reading of a sensor, and the shape of its values (which numeric field to aggregate).",
		Annotations: readOnly("Latest values"),
		InputSchema: schema(join(patternProp(c, false),
			prop("n", "integer", "Values per record, newest first (default 1, at most 100).", `"minimum":1`, `"maximum":100`),
			limitProp("records", 100, c.maxRecords), tzProp())),
	}
}

func (t *tools) latest(ctx context.Context, in latestIn) (latestOut, error) {
	pattern, err := t.cfg.pattern(in.Pattern)
	if err != nil {
		return latestOut{}, err
	}
	n, err := limitArg("n", in.N, 1, 100)
	if err != nil {
		return latestOut{}, err
	}
	limit, err := limitArg("limit", in.Limit, 100, t.cfg.maxRecords)
	if err != nil {
		return latestOut{}, err
	}
	loc, err := t.cfg.location(in.TZ)
	if err != nil {
		return latestOut{}, err
	}
	now := t.cfg.now()
	out := latestOut{Values: []latestRow{}}
	repo := rechist.NewRepo[json.RawMessage](t.db)
	skipped := t.db.Stats().SkippedRows
	rows, size := 0, 0
	last := ""
	for rec, err := range repo.All(ctx, pattern, rechist.QueryParams{LimitPerRecord: n}) {
		if err != nil {
			return latestOut{}, err
		}
		if rec.Name != last {
			if out.Shown == limit || rows+n > t.cfg.maxRows && rows > 0 || size > t.cfg.maxResult && rows > 0 {
				out.Truncated = true
				break
			}
			out.Shown++
			last = rec.Name
		}
		row := latestRow{rowOut{rec.Name, fmtTime(rec.StoredAt, loc), t.cfg.value(rec.Value)}, ageText(now.Sub(rec.StoredAt))}
		if size += jsonSize(row) + 1; size > t.cfg.maxResult && rows > 0 {
			// This row does not fit: its record is left out whole.
			for len(out.Values) > 0 && out.Values[len(out.Values)-1].Name == rec.Name {
				out.Values = out.Values[:len(out.Values)-1]
				rows--
			}
			out.Shown--
			out.Truncated = true
			break
		}
		rows++
		out.Values = append(out.Values, row)
	}
	if s := t.db.Stats().SkippedRows - skipped; s > 0 {
		out.Skipped = s
	}
	// records_total counts the records with raw rows: those of the
	// stream, and past a cut one newest row of each.
	out.Records = out.Shown
	if out.Truncated {
		out.Records = 0
		for rec, err := range repo.All(ctx, pattern, rechist.QueryParams{LimitPerRecord: 1}) {
			if err != nil {
				return latestOut{}, err
			}
			_ = rec
			out.Records++
		}
	}
	switch {
	case out.Records == 0 && out.Skipped == 0:
		out.Note = fmt.Sprintf("no records with rows match %q", pattern)
	case out.Truncated:
		out.Note = fmt.Sprintf("showing %d of %d records by name (at most %d values, %s); narrow the pattern or raise limit", out.Shown, out.Records, t.cfg.maxRows, sizeText(t.cfg.maxResult))
	}
	if out.Skipped > 0 {
		if out.Note != "" {
			out.Note += "; "
		}
		out.Note += fmt.Sprintf("%d rows were skipped because they are not JSON (stored by another program); a record whose newest rows all are is not shown", out.Skipped)
	}
	return out, nil
}
