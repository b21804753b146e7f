package rechisthttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/seed178a96f3/rechist"
)

// lineError is one refused line of an ingest.
type lineError struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// serveIngest stores a JSON Lines body ({"name","value","at"} per line,
// as the CLI's ingest reads) in one transaction: every line or, when one
// is bad, none.
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
	no := 0
	for text := range bytes.SplitSeq(body, []byte("\n")) {
		no++
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		rec, err := parseLine(text, now)
		if err != nil {
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
		}{fmt.Sprintf("line %d: %s; nothing was stored", bad[0].Line, bad[0].Error), bad})
	}
	if len(recs) > 0 {
		if err := h.raw.StoreMany(r.Context(), recs); err != nil {
			return err
		}
	}
	return writeJSON(w, map[string]int{"stored": len(recs)})
}

// parseLine reads one line: "name" (a string), "value" (any JSON) and "at"
// (Unix milliseconds, or an RFC 3339 string; absent: now).
func parseLine(text []byte, now time.Time) (rechist.Record[json.RawMessage], error) {
	var rec rechist.Record[json.RawMessage]
	if !utf8.Valid(text) {
		return rec, errors.New("not valid UTF-8")
	}
	var in struct {
		Name  *string         `json:"name"`
		Value json.RawMessage `json:"value"`
		At    json.RawMessage `json:"at"`
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return rec, fmt.Errorf(`not a JSON record such as {"name":"a","value":1}: %v`, err)
	}
	if dec.More() {
		return rec, errors.New("more than one JSON value on the line")
	}
	switch {
	case in.Name == nil:
		return rec, errors.New(`"name" is missing`)
	case in.Value == nil:
		return rec, errors.New(`"value" is missing`)
	}
	rec.Name, rec.Value, rec.StoredAt = *in.Name, in.Value, now
	if len(in.At) > 0 && string(in.At) != "null" {
		var s string
		if in.At[0] == '"' {
			if err := json.Unmarshal(in.At, &s); err != nil {
				return rec, fmt.Errorf(`"at": %v`, err)
			}
		} else {
			s = string(in.At)
		}
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
			rec.StoredAt = time.UnixMilli(ms)
		} else if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			rec.StoredAt = t
		} else {
			return rec, fmt.Errorf(`"at" %s is neither Unix milliseconds nor RFC 3339`, in.At)
		}
	}
	return rec, nil
}
