package rechisthttp

import (
	"net/http"

	"github.com/seed178a96f3/rechist"
)

// recordLine is one element of /api/records: rows counts the raw rows,
// first and last span the history, raw or rolled up; tiers_ms and fields
// (what the tiers can aggregate) come with a record that has tiers.
type recordLine struct {
	Name    string   `json:"name"`
	Rows    int64    `json:"rows"`
	First   int64    `json:"first"`
	Last    int64    `json:"last"`
	TiersMs []int64  `json:"tiers_ms,omitempty"`
	Fields  []string `json:"fields,omitempty"`
}

func (h *Handler) serveRecords(w http.ResponseWriter, r *http.Request) error {
	p, err := h.readParams(r, false)
	if err != nil {
		return err
	}
	ctx, cancel := h.deadline(r)
	defer cancel()
	recs, err := h.db.Records(ctx, p.pattern)
	if err != nil {
		return err
	}
	out := make([]recordLine, len(recs))
	for i, rec := range recs {
		out[i] = recordLine{Name: rec.Name, Rows: rec.Rows, First: rec.First.UnixMilli(), Last: rec.Last.UnixMilli(), Fields: rec.Fields}
		for _, w := range rec.Tiers {
			out[i].TiersMs = append(out[i].TiersMs, w.Milliseconds())
		}
	}
	return writeJSON(w, out)
}

func (h *Handler) serveDelete(w http.ResponseWriter, r *http.Request) error {
	if !h.cfg.writable {
		return &statusError{http.StatusForbidden, "this server is read-only (rechist serve --writable allows delete)"}
	}
	p, err := h.readParams(r, true)
	if err != nil {
		return err
	}
	// The query timeout bounds the delete; past it, the chunks already
	// deleted stay deleted and the answer is 503.
	ctx, cancel := h.deadline(r)
	defer cancel()
	n, err := h.db.Delete(ctx, p.pattern, rechist.QueryParams{Start: p.start, End: p.end})
	if err != nil {
		return err
	}
	return writeJSON(w, map[string]int64{"deleted": n})
}
