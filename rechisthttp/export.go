package rechisthttp

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/seed178a96f3/rechist"
)

// serveExport streams the rows of a range as CSV or JSON Lines, straight
// from All: by record name, newest first, as the library orders them.
// It runs as long as the client reads; a client that leaves stops it.
func (h *Handler) serveExport(w http.ResponseWriter, r *http.Request) error {
	p, err := h.readParams(r, false)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	var ctype, ext string
	switch format {
	case "csv":
		ctype, ext = "text/csv; charset=utf-8", "csv"
	case "jsonl", "":
		format, ctype, ext = "jsonl", "application/jsonl", "jsonl"
	default:
		return badRequest("format %q: want csv or jsonl", format)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	started := false
	start := func() {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Disposition", `attachment; filename="rechist-export.`+ext+`"`)
		if format == "csv" {
			_ = cw.Write([]string{"record", "ts", "time", "value"})
		}
		started = true
	}
	for rec, err := range h.raw.All(r.Context(), p.pattern, rechist.QueryParams{Start: p.start, End: p.end}) {
		if err != nil {
			if started {
				return fmt.Errorf("%w: %w", errStarted, err)
			}
			return err
		}
		if !started {
			start()
		}
		if format == "csv" {
			err = cw.Write([]string{rec.Name, strconv.FormatInt(rec.StoredAt.UnixMilli(), 10),
				rec.StoredAt.Format("2006-01-02T15:04:05.000Z07:00"), string(rec.Value)})
		} else {
			// The line is ingest's input: {"name","value","at"}.
			err = enc.Encode(struct {
				Name  string          `json:"name"`
				Value json.RawMessage `json:"value"`
				At    int64           `json:"at"`
			}{rec.Name, rec.Value, rec.StoredAt.UnixMilli()})
		}
		if err != nil {
			return fmt.Errorf("%w: %w", errStarted, err)
		}
	}
	if !started {
		start()
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("%w: %w", errStarted, err)
	}
	return bw.Flush()
}
