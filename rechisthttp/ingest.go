package rechisthttp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/jsonl"
)

// lineError is one refused line of an ingest.
type lineError struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// serveIngest stores a JSON Lines body ({"name","value","at"} per line,
// read by jsonl.ParseLine as the CLI's ingest reads it) in one
// transaction: every line or, when one is bad, none. A line without "at"
// is stored at the time the body was read. The query timeout bounds the
// store, not the reading of the body.
func (h *Handler) serveIngest(w http.ResponseWriter, r *http.Request) error {
	if !h.cfg.writable {
		return &statusError{http.StatusForbidden, "this server is read-only (rechist serve --writable allows ingest)"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.maxBodyBytes))
	if err != nil {
		return err
	}
	var recs []rechist.Record[json.RawMessage]
	var bad []lineError
	now := time.Now()
	no, nbad := 0, 0
	for text := range bytes.SplitSeq(body, []byte("\n")) {
		no++
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		rec, err := jsonl.ParseLine(text, now)
		if err != nil {
			nbad++
			if len(bad) < 100 {
				bad = append(bad, lineError{no, err.Error()})
			}
			continue
		}
		recs = append(recs, rec)
	}
	if len(bad) > 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		return json.NewEncoder(w).Encode(struct {
			Error string      `json:"error"`
			Lines []lineError `json:"lines"`
		}{badLines(nbad, no, bad[0]), bad})
	}
	if len(recs) > 0 {
		// The query timeout bounds the store: past it while the rows still
		// wait for the writer, nothing is stored and the answer is 503.
		ctx, cancel := h.deadline(r)
		defer cancel()
		if err := h.raw.StoreMany(ctx, recs); err != nil {
			return err
		}
	}
	return writeJSON(w, map[string]int{"stored": len(recs)})
}

// badLines is a refused ingest's error: how many of its lines are bad, and
// the first.
func badLines(nbad, lines int, first lineError) string {
	if nbad == 1 {
		return fmt.Sprintf("line %d: %s; nothing was stored", first.Line, first.Error)
	}
	return fmt.Sprintf("%d of %d lines are bad (the first hundred are listed), the first line %d: %s; nothing was stored",
		nbad, lines, first.Line, first.Error)
}
