package jsonl

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/core"
	"github.com/seed178a96f3/rechist/internal/timeparse"
)

// epoch is the earliest time rechist stores.
var epoch = time.UnixMilli(0)

// ParseLine reads one line (its '\n' may be left on) into a record. An
// absent or null "at" is now.
func ParseLine(text []byte, now time.Time) (rechist.Record[json.RawMessage], error) {
	var rec rechist.Record[json.RawMessage]
	if i := invalidUTF8(text); i >= 0 {
		return rec, invalidf("not valid UTF-8 (byte %d)", i+1)
	}
	// Decoding into json.RawMessage fields checks the syntax and fails on
	// nothing else; fieldProblem then checks the names exactly.
	var in struct {
		Name  json.RawMessage `json:"name"`
		Value json.RawMessage `json:"value"`
		At    json.RawMessage `json:"at"`
	}
	if err := json.Unmarshal(text, &in); err != nil {
		var se *json.SyntaxError
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se) && strings.Contains(se.Error(), "after top-level value"):
			return rec, invalidf("more than one JSON value on the line")
		case errors.As(err, &se) && strings.Contains(se.Error(), "unexpected end"):
			return rec, invalidf("not a JSON record: the line ends inside it")
		case errors.As(err, &ute) && ute.Field == "":
			return rec, invalidf(`not a JSON record: want an object such as {"name": "a", "value": 1}, not %s`, ute.Value)
		}
		return rec, invalidf("not a JSON record: %v", err)
	}
	if err := fieldProblem(text); err != nil {
		return rec, err
	}
	switch {
	case in.Name == nil:
		return rec, invalidf(`"name" is missing`)
	case in.Value == nil:
		return rec, invalidf(`"value" is missing`)
	case in.Name[0] != '"':
		return rec, invalidf(`"name" %s is not a string`, in.Name)
	case loneSurrogate(in.Name):
		return rec, invalidf(`"name" %s holds an escaped lone surrogate, which is not UTF-8`, in.Name)
	}
	if err := json.Unmarshal(in.Name, &rec.Name); err != nil {
		return rec, invalidf(`"name": %v`, err)
	}
	var err error
	if rec.StoredAt, err = parseAt(in.At, now); err != nil {
		return rec, err
	}
	rec.Value = in.Value
	// What the store would refuse (an empty name, 1e400), refused here: so
	// ingest reports every bad line at once, with the same words.
	row := core.Row{Name: rec.Name, ValueJSON: string(in.Value), StoredAt: rec.StoredAt.UnixMilli()}
	if problem := row.Problem(); problem != "" {
		return rec, invalidf("%s", problem)
	}
	return rec, nil
}

// parseAt reads "at": Unix milliseconds as a JSON number, or a string in
// any form timeparse.Time reads; absent or null is now. A time before the
// Unix epoch is refused here, for the library would store the zero time as
// now and refuse any other with a message that does not name "at".
func parseAt(raw json.RawMessage, now time.Time) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return now, nil
	}
	var t time.Time
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return t, invalidf(`"at": %v`, err)
		}
		var err error
		if t, err = timeparse.Time(s); err != nil {
			return t, invalidf(`"at": %v`, err)
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var err error
		if t, err = timeparse.Millis(string(raw)); err != nil {
			return t, invalidf(`"at" %s: %v`, raw, err)
		}
	default:
		return t, invalidf(`"at" %s is neither Unix milliseconds nor a time string`, raw)
	}
	if t.Before(epoch) {
		return time.Time{}, invalidf(`"at" %s is before the Unix epoch (1970-01-01T00:00:00Z), the earliest time rechist stores`, raw)
	}
	return t, nil
}
