// Package rowcsv is the one CSV form of stored rows: what `rechist query
// --csv` prints and what /api/export?format=csv sends.
package rowcsv

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/seed178a96f3/rechist"
)

// Header is the CSV header: the record's name, its time as Unix
// milliseconds and as RFC 3339 with milliseconds, and its value's JSON.
var Header = []string{"record", "ts", "time", "value"}

// TimeLayout is how the time column prints.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Fields is rec's CSV row, its time in loc.
func Fields(rec rechist.Record[json.RawMessage], loc *time.Location) []string {
	return []string{rec.Name, strconv.FormatInt(rec.StoredAt.UnixMilli(), 10),
		rec.StoredAt.In(loc).Format(TimeLayout), string(rec.Value)}
}
