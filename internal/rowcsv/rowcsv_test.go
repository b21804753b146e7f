package rowcsv

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

func TestFields(t *testing.T) {
	rec := rechist.Record[json.RawMessage]{Name: "a::b", Value: json.RawMessage(`{"c":1}`), StoredAt: time.UnixMilli(1795593600123)}
	got := strings.Join(Fields(rec, time.FixedZone("", 3600)), "|")
	if want := `a::b|1795593600123|2026-11-25T09:00:00.123+01:00|{"c":1}`; got != want {
		t.Errorf("Fields = %s, want %s", got, want)
	}
}
