package rechistmcp

import (
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/seed178a96f3/rechist"
)

// defaultCountCap is how many rows query_history counts at most, one by
// one, to say the total of a range that cuts through some record's
// history (one that covers each record's whole history is counted from
// DB.Records at the cost of a row a record); beyond it the total is a
// lower bound.
const defaultCountCap = 100_000

// defaultMergeCap bounds the rows newestRows and oldestRows read through
// each record's index (records × limit); past it, they stream the range
// in time order instead.
const defaultMergeCap = 100_000

type historyIn struct {
	Pattern string `json:"pattern"`
	Start   string `json:"start"`
	End     string `json:"end"`
	Limit   int    `json:"limit"`
	Order   string `json:"order"`
	TZ      string `json:"tz"`
}

type historyOut struct {
	Start      string   `json:"start,omitempty" jsonschema:"the range's lower bound as read (RFC 3339)"`
	End        string   `json:"end,omitempty" jsonschema:"the range's upper bound as read (RFC 3339)"`
	Rows       []rowOut `json:"rows" jsonschema:"the rows shown, oldest first"`
	Returned   int      `json:"returned" jsonschema:"how many rows are shown"`
	Total      int      `json:"total" jsonschema:"how many rows the range holds"`
	TotalExact bool     `json:"total_exact" jsonschema:"false when counting stopped at 100000 rows: total is then a lower bound"`
	Truncated  bool     `json:"truncated" jsonschema:"true when rows shows fewer than total"`
	Note       string   `json:"note,omitempty"`
}

func historyTool(c config) *mcp.Tool {
	return &mcp.Tool{
		Name: "query_history",
		Description: "Raw stored values of the records matching a pattern within a time range, oldest first, at most limit rows " +
			"(the newest ones by default); says how many rows the range holds and when it truncated. " +
			"For a trend over many rows (a day of minute readings), use aggregate instead.",
		Annotations: readOnly("Query history"),
		InputSchema: schema(join(patternProp(c, true), rangeProps(),
			limitProp("rows", 100, c.maxRows),
			prop("order", "string", "Which rows to keep when the range holds more than limit: newest (default) or oldest. Rows are shown oldest first either way.", `"enum":["newest","oldest"]`),
			tzProp()), "pattern"),
	}
}

// kept is a row collected for a result: its value clipped to one byte
// more than a result shows whole (only a preview of a longer one is
// shown), with its full length.
type kept struct {
	name  string
	at    time.Time
	value json.RawMessage
	bytes int
	seq   int64 // insert order among rows of one record at one time
}

// keep clips rec's value for a result.
func (c config) keep(rec rechist.Record[json.RawMessage], seq int64) kept {
	v := rec.Value
	if len(v) > c.maxValue+1 {
		v = slices.Clone(v[:c.maxValue+1])
	}
	return kept{name: rec.Name, at: rec.StoredAt, value: v, bytes: len(rec.Value), seq: seq}
}

// timeOrder is Timeline's order: time, then name, then insert order.
func timeOrder(a, b kept) int {
	if c := a.at.Compare(b.at); c != 0 {
		return c
	}
	if c := strings.Compare(a.name, b.name); c != 0 {
		return c
	}
	switch {
	case a.seq < b.seq:
		return -1
	case a.seq > b.seq:
		return 1
	}
	return 0
}

// bounded keeps the limit greatest rows (by timeOrder, or the least with
// least) of a stream: memory is limit rows, whatever the stream holds.
type bounded struct {
	rows  []kept
	limit int
	least bool
}

func (b *bounded) Len() int { return len(b.rows) }

// Less puts at the root the row to drop first.
func (b *bounded) Less(i, j int) bool {
	c := timeOrder(b.rows[i], b.rows[j])
	if b.least {
		return c > 0
	}
	return c < 0
}
func (b *bounded) Swap(i, j int) { b.rows[i], b.rows[j] = b.rows[j], b.rows[i] }
func (b *bounded) Push(x any)    { b.rows = append(b.rows, x.(kept)) }
func (b *bounded) Pop() any {
	r := b.rows[len(b.rows)-1]
	b.rows = b.rows[:len(b.rows)-1]
	return r
}

func (b *bounded) add(r kept) {
	if len(b.rows) < b.limit {
		heap.Push(b, r)
		return
	}
	if c := timeOrder(r, b.rows[0]); b.least && c < 0 || !b.least && c > 0 {
		b.rows[0] = r
		heap.Fix(b, 0)
	}
}

// sorted returns the rows kept in time order.
func (b *bounded) sorted() []kept {
	slices.SortFunc(b.rows, timeOrder)
	return b.rows
}

func (t *tools) history(ctx context.Context, in historyIn) (historyOut, error) {
	pattern, err := t.cfg.pattern(in.Pattern)
	if err != nil {
		return historyOut{}, err
	}
	limit, err := limitArg("limit", in.Limit, 100, t.cfg.maxRows)
	if err != nil {
		return historyOut{}, err
	}
	newest := true
	switch in.Order {
	case "", "newest":
	case "oldest":
		newest = false
	default:
		return historyOut{}, badf("order %q: want newest or oldest", in.Order)
	}
	loc, err := t.cfg.location(in.TZ)
	if err != nil {
		return historyOut{}, err
	}
	now := t.cfg.now()
	start, end, err := timeRange(in.Start, in.End, now, loc)
	if err != nil {
		return historyOut{}, err
	}
	p := rechist.QueryParams{Start: start, End: end}
	recs, err := t.db.Records(ctx, pattern)
	if err != nil {
		return historyOut{}, err
	}
	total, exact, err := t.countRows(ctx, pattern, p, recs)
	if err != nil {
		return historyOut{}, err
	}
	var rows []kept
	if newest {
		rows, err = t.newestRows(ctx, pattern, p, limit, recs)
	} else {
		rows, err = t.oldestRows(ctx, pattern, p, limit, recs)
	}
	if err != nil {
		return historyOut{}, err
	}
	// Within the result's byte budget, the rows nearest to what was
	// asked for (the newest, or the oldest) stay: each row's JSON is
	// measured as it will be sent.
	outs := make([]rowOut, len(rows))
	size, over := 0, false
	for i := range rows {
		j := i
		if newest {
			j = len(rows) - 1 - i
		}
		r := rows[j]
		outs[j] = rowOut{r.name, fmtTime(r.at, loc), t.cfg.clipped(r.value, r.bytes)}
		if size += jsonSize(outs[j]) + 1; size > t.cfg.maxResult && i > 0 {
			over = true
			if newest {
				outs = outs[j+1:]
			} else {
				outs = outs[:j]
			}
			break
		}
	}
	out := historyOut{Start: fmtTime(start, loc), End: fmtTime(end, loc), Rows: outs,
		Returned: len(outs), Total: max(total, len(outs)), TotalExact: exact, Truncated: !exact || total > len(outs)}
	switch {
	case total == 0:
		out.Note = fmt.Sprintf("no rows of records matching %q in this range; list_records shows each record's time span", pattern)
	case out.Truncated:
		which := "newest"
		if !newest {
			which = "oldest"
		}
		more := fmt.Sprintf("%d", total)
		if !exact {
			more = fmt.Sprintf("more than %d", total)
		}
		out.Note = fmt.Sprintf("truncated: showing the %s %d of %s rows; narrow the range, raise limit (at most %d), or use aggregate for the trend", which, len(outs), more, t.cfg.maxRows)
		if over {
			out.Note = fmt.Sprintf("truncated: showing the %s %d of %s rows, as many as fit in %s; narrow the range or use aggregate for the trend", which, len(outs), more, sizeText(t.cfg.maxResult))
		}
	}
	return out, nil
}

// jsonSize is the length of v's JSON.
func jsonSize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b)
}

// inRange says whether r may hold rows within p's range.
func inRange(r rechist.RecordInfo, p rechist.QueryParams) bool {
	return r.Rows > 0 && (p.Start.IsZero() || !r.Last.Before(p.Start)) && (p.End.IsZero() || !r.First.After(p.End))
}

// countRows counts the rows of the records matching pattern within p's
// range: from recs (DB.Records) when each record's whole history lies in
// the range, else one by one up to countCap (exact false past it).
func (t *tools) countRows(ctx context.Context, pattern string, p rechist.QueryParams, recs []rechist.RecordInfo) (int, bool, error) {
	total := 0
	for _, r := range recs {
		switch {
		case !inRange(r, p):
			// Nothing in range.
		case (p.Start.IsZero() || !p.Start.After(r.First)) && (p.End.IsZero() || !p.End.Before(r.Last)):
			total += int(r.Rows)
		default:
			return t.streamCount(ctx, pattern, p)
		}
	}
	return total, true, nil
}

func (t *tools) streamCount(ctx context.Context, pattern string, p rechist.QueryParams) (int, bool, error) {
	n := 0
	for _, err := range rechist.NewRepo[json.RawMessage](t.db).Timeline(ctx, pattern, p) {
		if err != nil {
			return 0, false, err
		}
		if n == t.cfg.countCap {
			return n, false, nil
		}
		n++
	}
	return n, true, nil
}

// matched counts the records of recs that may hold rows in p's range.
func matched(recs []rechist.RecordInfo, p rechist.QueryParams) int {
	n := 0
	for _, r := range recs {
		if inRange(r, p) {
			n++
		}
	}
	return n
}

// perRecord keeps the limit rows of the range nearest to its end (newest)
// or start, reading at most limit rows of each record from its index
// (newest first, or OldestFirst) into a heap of limit rows.
func (t *tools) perRecord(ctx context.Context, pattern string, p rechist.QueryParams, limit int, newest bool) ([]kept, error) {
	b := &bounded{limit: limit, least: !newest}
	lp := p
	lp.LimitPerRecord = limit
	lp.OldestFirst = !newest
	// Either order gives the later insert first among equal times: a
	// falling seq is Timeline's insert order.
	var seq int64
	for rec, err := range rechist.NewRepo[json.RawMessage](t.db).All(ctx, pattern, lp) {
		if err != nil {
			return nil, err
		}
		seq--
		b.add(t.cfg.keep(rec, seq))
	}
	return b.sorted(), nil
}

// oldestRows are the first limit rows of the range in time order: from
// each record's oldest rows when records × limit is within the merge cap,
// else the head of the range in time order.
func (t *tools) oldestRows(ctx context.Context, pattern string, p rechist.QueryParams, limit int, recs []rechist.RecordInfo) ([]kept, error) {
	if matched(recs, p)*limit <= t.cfg.mergeCap {
		return t.perRecord(ctx, pattern, p, limit, false)
	}
	out := make([]kept, 0, limit)
	var seq int64
	for rec, err := range rechist.NewRepo[json.RawMessage](t.db).Timeline(ctx, pattern, p) {
		if err != nil {
			return nil, err
		}
		if len(out) == limit {
			break
		}
		seq++
		out = append(out, t.cfg.keep(rec, seq))
	}
	return out, nil
}

// newestRows are the last limit rows of the range, in time order (the
// order of Timeline: time, then name, then insert order). They are among
// each record's newest limit rows, which the index gives at the cost of
// those rows; with more records than the merge cap allows, the range is
// streamed into a ring of limit rows from a bound (tailStart) at or
// before the limit-th newest row, and from the range's start only when
// that bound leaves fewer than limit rows.
func (t *tools) newestRows(ctx context.Context, pattern string, p rechist.QueryParams, limit int, recs []rechist.RecordInfo) ([]kept, error) {
	if matched(recs, p)*limit <= t.cfg.mergeCap {
		return t.perRecord(ctx, pattern, p, limit, true)
	}
	if from, ok := tailStart(recs, p, limit); ok {
		tp := p
		tp.Start = from
		rows, err := t.ring(ctx, pattern, tp, limit)
		if err != nil || len(rows) == limit {
			return rows, err
		}
	}
	return t.ring(ctx, pattern, p, limit)
}

// tailStart is a time at or before the limit-th newest row of the range:
// the limit-th newest Last of the records whose newest row lies in the
// range, each of which holds a row at its Last. The caller streams from
// it and falls back to the whole range when it yields fewer than limit
// rows (a Last from a rollup tier, or rows deleted meanwhile).
func tailStart(recs []rechist.RecordInfo, p rechist.QueryParams, limit int) (time.Time, bool) {
	var lasts []time.Time
	for _, r := range recs {
		if inRange(r, p) && (p.End.IsZero() || !r.Last.After(p.End)) {
			lasts = append(lasts, r.Last)
		}
	}
	if len(lasts) < limit {
		return time.Time{}, false
	}
	slices.SortFunc(lasts, func(a, b time.Time) int { return b.Compare(a) })
	from := lasts[limit-1]
	if from.Before(p.Start) {
		return time.Time{}, false
	}
	return from, true
}

// ring streams p's range in time order, keeping its last limit rows.
func (t *tools) ring(ctx context.Context, pattern string, p rechist.QueryParams, limit int) ([]kept, error) {
	ring := make([]kept, 0, limit)
	head := 0
	var seq int64
	for rec, err := range rechist.NewRepo[json.RawMessage](t.db).Timeline(ctx, pattern, p) {
		if err != nil {
			return nil, err
		}
		seq++
		if len(ring) < limit {
			ring = append(ring, t.cfg.keep(rec, seq))
		} else {
			ring[head] = t.cfg.keep(rec, seq)
			head = (head + 1) % limit
		}
	}
	return append(ring[head:], ring[:head]...), nil
}

// sizeText prints a byte count: "256 KiB", "2000 bytes".
func sizeText(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
