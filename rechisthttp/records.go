package rechisthttp

import (
	"net/http"

	"github.com/seed178a96f3/rechist"
)

// recordLine is one element of /api/records.
type recordLine struct {
	Name  string `json:"name"`
	Rows  int64  `json:"rows"`
	First int64  `json:"first"`
	Last  int64  `json:"last"`
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
		out[i] = recordLine{rec.Name, rec.Rows, rec.First.UnixMilli(), rec.Last.UnixMilli()}
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
