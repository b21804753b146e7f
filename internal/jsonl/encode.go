package jsonl

import (
	"encoding/json"
	"io"

	"github.com/seed178a96f3/rechist"
)

// Encoder writes records as the lines ParseLine reads back:
// {"name","value","at"} with "at" in Unix milliseconds, one a line.
type Encoder struct{ enc *json.Encoder }

// NewEncoder writes to w, which it does not buffer.
func NewEncoder(w io.Writer) *Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // names and values keep <, > and & as they are
	return &Encoder{enc}
}

// line is one record as it is written.
type line struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
	At    int64           `json:"at"`
}

// Encode writes rec as one line. The value is written compacted; a value
// that is not JSON is an error, and nothing of rec is written.
func (e *Encoder) Encode(rec rechist.Record[json.RawMessage]) error {
	return e.enc.Encode(line{rec.Name, rec.Value, rec.StoredAt.UnixMilli()})
}
