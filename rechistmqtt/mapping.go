package rechistmqtt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/internal/timeparse"
)

// outcome is why a message is not stored as a row.
type outcome int

const (
	stored outcome = iota
	skipEmpty
	skipBinary
	refuseName
	refuseValue
	refuseTime
)

// recordName maps an MQTT topic to a record name: prefix, then the topic
// with '/' turned into '.' (unless keepSlash). A topic with an empty level
// ("a//b", "/a", "a/"), a NUL byte, or a name longer than
// rechist.MaxNameBytes is refused with the reason.
func recordName(topic, prefix string, keepSlash bool) (string, error) {
	switch {
	case topic == "":
		return "", fmt.Errorf("empty topic")
	case !utf8.ValidString(topic):
		return "", fmt.Errorf("topic is not UTF-8")
	case strings.IndexByte(topic, 0) >= 0:
		return "", fmt.Errorf("topic holds a NUL byte")
	case strings.HasPrefix(topic, "/") || strings.HasSuffix(topic, "/") || strings.Contains(topic, "//"):
		return "", fmt.Errorf("topic has an empty level")
	}
	name := topic
	if !keepSlash {
		name = strings.ReplaceAll(topic, "/", ".")
	}
	name = prefix + name
	if len(name) > rechist.MaxNameBytes {
		return "", fmt.Errorf("record name would be %d bytes, more than %d", len(name), rechist.MaxNameBytes)
	}
	return name, nil
}

// recordValue maps a payload to the JSON value stored: JSON text as it is
// (compacted), any other UTF-8 text as a JSON string. An empty payload or
// one that is not UTF-8 is skipped.
func recordValue(payload []byte) (json.RawMessage, outcome) {
	if len(payload) == 0 {
		return nil, skipEmpty
	}
	if !utf8.Valid(payload) {
		return nil, skipBinary
	}
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) > 0 && json.Valid(trimmed) {
		var buf bytes.Buffer
		if err := json.Compact(&buf, trimmed); err == nil {
			return buf.Bytes(), stored
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // <, > and & as they are, as the library stores text
	if err := enc.Encode(string(payload)); err != nil {
		return nil, refuseValue
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), stored
}

// valueTime reads the row's time from the field at path of a JSON object
// value: a number is Unix milliseconds, a string RFC 3339, a local date
// and time, or Unix milliseconds (as rechist ingest reads "at"). ok is false
// when the value is not an object or lacks the field: the row takes its
// time of arrival. A field that holds something else, a time that looks
// like Unix seconds or one before 1970 is an error.
func valueTime(value json.RawMessage, path []string) (at time.Time, ok bool, err error) {
	if len(value) == 0 || value[0] != '{' {
		return time.Time{}, false, nil
	}
	cur := value
	for _, key := range path {
		if len(cur) == 0 || cur[0] != '{' {
			return time.Time{}, false, nil
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(cur, &obj); err != nil {
			return time.Time{}, false, nil
		}
		next, found := obj[key]
		if !found {
			return time.Time{}, false, nil
		}
		cur = next
	}
	switch {
	case len(cur) > 0 && cur[0] == '"':
		var s string
		if err := json.Unmarshal(cur, &s); err != nil {
			return time.Time{}, true, err
		}
		at, err = timeparse.Time(s)
	case len(cur) > 0 && (cur[0] == '-' || cur[0] >= '0' && cur[0] <= '9'):
		at, err = timeparse.Millis(string(cur))
	default:
		return time.Time{}, true, fmt.Errorf("time field %s holds %s, want Unix milliseconds or a time as text", strings.Join(path, "."), shorten(cur))
	}
	if err != nil {
		return time.Time{}, true, fmt.Errorf("time field %s: %w", strings.Join(path, "."), err)
	}
	if at.Before(time.UnixMilli(0)) {
		return time.Time{}, true, fmt.Errorf("time field %s: %s is before 1970", strings.Join(path, "."), at.UTC().Format(time.RFC3339))
	}
	return at, true, nil
}

// shorten is b for a log line, cut after 64 bytes.
func shorten(b []byte) string {
	const most = 64
	if len(b) > most {
		return string(b[:most]) + "…"
	}
	return string(b)
}

// RecordName is the record name a Recorder stores a message on topic
// under, with WithPrefix's prefix and WithSlashes's keepSlash, or why the
// topic is refused.
func RecordName(topic, prefix string, keepSlash bool) (string, error) {
	return recordName(topic, prefix, keepSlash)
}

// RecordValue is the JSON value a Recorder stores for payload; ok is false
// for a payload it skips (empty, or not UTF-8). Store may still refuse the
// value (a number beyond float64's range).
func RecordValue(payload []byte) (value json.RawMessage, ok bool) {
	v, oc := recordValue(payload)
	return v, oc == stored
}
