package rechistmcp

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/seed178a96f3/rechist"
)

// recordOut is one record as list_records and stale_records show it.
type recordOut struct {
	Name      string   `json:"name"`
	Rows      int64    `json:"rows,omitempty" jsonschema:"raw rows the record holds (list_records; absent in stale_records, which counts nothing, and for a record held in rollup tiers only)"`
	First     string   `json:"first,omitempty" jsonschema:"time of its oldest row (RFC 3339)"`
	Last      string   `json:"last,omitempty" jsonschema:"time of its newest row (RFC 3339)"`
	SilentFor string   `json:"silent_for,omitempty" jsonschema:"how long before now its newest row was stored"`
	Tiers     []string `json:"rollup_tiers,omitempty" jsonschema:"widths of its rollup tiers, which keep aggregates after raw rows expire"`
	Fields    []string `json:"numeric_fields,omitempty" jsonschema:"numeric fields its rollup tiers hold"`
}

func (t *tools) recordOut(r rechist.RecordInfo, now time.Time, loc *time.Location) recordOut {
	o := recordOut{Name: r.Name, Rows: r.Rows, First: fmtTime(r.First, loc), Last: fmtTime(r.Last, loc)}
	if !r.Last.IsZero() {
		o.SilentFor = ageText(now.Sub(r.Last))
	}
	for _, w := range r.Tiers {
		o.Tiers = append(o.Tiers, ageText(w))
	}
	o.Fields = r.Fields
	return o
}

// fit converts recs in order while their JSON stays within the result's
// byte budget (at least one); over says the budget cut them.
func (t *tools) fit(recs []rechist.RecordInfo, now time.Time, loc *time.Location) ([]recordOut, bool) {
	out := make([]recordOut, 0, len(recs))
	size := 0
	for _, r := range recs {
		o := t.recordOut(r, now, loc)
		if size += jsonSize(o) + 1; size > t.cfg.maxResult && len(out) > 0 {
			return out, true
		}
		out = append(out, o)
	}
	return out, false
}

type listIn struct {
	Pattern string `json:"pattern"`
	Limit   int    `json:"limit"`
	TZ      string `json:"tz"`
}

type listOut struct {
	Now       string      `json:"now" jsonschema:"the server's time when it answered"`
	Records   []recordOut `json:"records" jsonschema:"matching records by name"`
	Total     int         `json:"total" jsonschema:"how many records match"`
	Truncated bool        `json:"truncated" jsonschema:"true when records lists fewer than total"`
	Note      string      `json:"note,omitempty"`
}

func listRecordsTool(c config) *mcp.Tool {
	return &mcp.Tool{
		Name: "list_records",
		Description: "List the records (named series of values, such as one sensor's readings) whose names match a pattern, " +
			"each with its raw row count, the times of its oldest and newest rows, and how long it has been silent. " +
			"Call it first to learn the names before asking for values.",
		Annotations: readOnly("List records"),
		InputSchema: schema(join(patternProp(c, false), limitProp("records", 100, c.maxRecords), tzProp())),
	}
}

func (t *tools) listRecords(ctx context.Context, in listIn) (listOut, error) {
	pattern, err := t.cfg.pattern(in.Pattern)
	if err != nil {
		return listOut{}, err
	}
	limit, err := limitArg("limit", in.Limit, 100, t.cfg.maxRecords)
	if err != nil {
		return listOut{}, err
	}
	loc, err := t.cfg.location(in.TZ)
	if err != nil {
		return listOut{}, err
	}
	recs, err := t.db.Records(ctx, pattern)
	if err != nil {
		return listOut{}, err
	}
	now := t.cfg.now()
	out := listOut{Now: fmtTime(now, loc), Records: []recordOut{}, Total: len(recs)}
	var over bool
	out.Records, over = t.fit(recs[:min(limit, len(recs))], now, loc)
	switch {
	case len(recs) == 0:
		out.Note = fmt.Sprintf("no records match %q", pattern)
	case len(out.Records) < len(recs):
		out.Truncated = true
		out.Note = fmt.Sprintf("showing the first %d of %d records by name; narrow the pattern or raise limit (at most %d)", len(out.Records), len(recs), t.cfg.maxRecords)
		if over {
			out.Note = fmt.Sprintf("showing the first %d of %d records by name, as many as fit in %s; narrow the pattern", len(out.Records), len(recs), sizeText(t.cfg.maxResult))
		}
	}
	return out, nil
}

type staleIn struct {
	Pattern   string `json:"pattern"`
	OlderThan string `json:"older_than"`
	Limit     int    `json:"limit"`
	TZ        string `json:"tz"`
}

type staleOut struct {
	Now       string      `json:"now" jsonschema:"the server's time when it answered"`
	Cutoff    string      `json:"cutoff" jsonschema:"records whose newest row is older than this are stale"`
	Stale     []recordOut `json:"stale" jsonschema:"the stale records, longest silent first"`
	Total     int         `json:"stale_total" jsonschema:"how many matching records are stale"`
	Reporting int         `json:"reporting" jsonschema:"how many matching records have a row at or after the cutoff"`
	Truncated bool        `json:"truncated" jsonschema:"true when stale lists fewer than stale_total"`
	Note      string      `json:"note,omitempty"`
}

func staleTool(c config) *mcp.Tool {
	return &mcp.Tool{
		Name: "stale_records",
		Description: "Find the records that stopped reporting: those whose newest row is older than older_than before now, " +
			"longest silent first, with the time of their last row (when they stopped) and how long they have been silent; " +
			"also counts the matching records still reporting.",
		Annotations: readOnly("Records that stopped reporting"),
		InputSchema: schema(join(patternProp(c, false),
			prop("older_than", "string", "How long without a new row makes a record stale: a duration such as 15m, 2h, 1d, 1d12h.", `"minLength":1`),
			limitProp("records", 100, c.maxRecords), tzProp()), "older_than"),
	}
}

func (t *tools) stale(ctx context.Context, in staleIn) (staleOut, error) {
	pattern, err := t.cfg.pattern(in.Pattern)
	if err != nil {
		return staleOut{}, err
	}
	age, err := durationArg("older_than", in.OlderThan)
	if err != nil {
		return staleOut{}, err
	}
	limit, err := limitArg("limit", in.Limit, 100, t.cfg.maxRecords)
	if err != nil {
		return staleOut{}, err
	}
	loc, err := t.cfg.location(in.TZ)
	if err != nil {
		return staleOut{}, err
	}
	recs, err := t.spans(ctx, pattern)
	if err != nil {
		return staleOut{}, err
	}
	now := t.cfg.now()
	cutoff := now.Add(-age)
	var stale []rechist.RecordInfo
	out := staleOut{Now: fmtTime(now, loc), Cutoff: fmtTime(cutoff, loc), Stale: []recordOut{}}
	for _, r := range recs {
		if r.Last.Before(cutoff) {
			stale = append(stale, r)
		} else {
			out.Reporting++
		}
	}
	slices.SortStableFunc(stale, func(a, b rechist.RecordInfo) int { return a.Last.Compare(b.Last) })
	out.Total = len(stale)
	var over bool
	out.Stale, over = t.fit(stale[:min(limit, len(stale))], now, loc)
	switch {
	case len(recs) == 0:
		out.Note = fmt.Sprintf("no records match %q", pattern)
	case len(stale) == 0:
		out.Note = fmt.Sprintf("all %d matching records have a row newer than %s", len(recs), ageText(age))
	case len(out.Stale) < len(stale):
		out.Truncated = true
		out.Note = fmt.Sprintf("showing the %d longest silent of %d stale records; narrow the pattern or raise limit (at most %d)", len(out.Stale), len(stale), t.cfg.maxRecords)
		if over {
			out.Note = fmt.Sprintf("showing the %d longest silent of %d stale records, as many as fit in %s; narrow the pattern", len(out.Stale), len(stale), sizeText(t.cfg.maxResult))
		}
	}
	return out, nil
}

// spans lists the records pattern matches with the times of their oldest
// and newest rows, counting nothing: DB.Records counts each record's rows
// from the index on a file opened read-only that predates the names
// table (an old rechist file, or one of the Rust crate's). Names, then
// each record's newest and oldest row (an index seek a record, either
// schema); a record with no raw row there (its history in rollup tiers
// only, or rows that are not JSON) from DB.Records by its exact name.
// Rows is 0 and Tiers is set only for those.
func (t *tools) spans(ctx context.Context, pattern string) ([]rechist.RecordInfo, error) {
	names, err := t.db.Names(ctx, pattern)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	repo := rechist.NewRepo[json.RawMessage](t.db)
	first, last := make(map[string]time.Time, len(names)), make(map[string]time.Time, len(names))
	for _, oldest := range []bool{false, true} {
		m := last
		if oldest {
			m = first
		}
		for rec, err := range repo.All(ctx, pattern, rechist.QueryParams{LimitPerRecord: 1, OldestFirst: oldest}) {
			if err != nil {
				return nil, err
			}
			m[rec.Name] = rec.StoredAt
		}
	}
	out := make([]rechist.RecordInfo, 0, len(names))
	for _, n := range names {
		l, ok := last[n]
		if ok {
			out = append(out, rechist.RecordInfo{Name: n, First: first[n], Last: l})
			continue
		}
		infos, err := t.db.Records(ctx, n)
		if err != nil {
			return nil, err
		}
		for _, r := range infos {
			if r.Name == n {
				r.Rows = 0
				out = append(out, r)
			}
		}
	}
	return out, nil
}
