package rechisthttp

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// WithQueryTimeout bounds the database work of POST /api/ingest and
// DELETE /api/records too, as its doc says (only the stream and the
// export are exempt): past it they answer 503 and nothing is stored or
// deleted. Before, both ran under the request's own context and answered
// 200 however long they took.
func TestQueryTimeoutBoundsIngestAndDelete(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	for i := range 50 {
		store(t, db, fmt.Sprintf("old.%d", i), int64(1000+i), `1`)
	}
	h := NewHandler(db, Writable(), WithQueryTimeout(time.Nanosecond))
	var body strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&body, `{"name":"new.%d","value":%d,"at":%d}`+"\n", i%10, i, 2000+i)
	}
	if a := do(t, h, "POST", "/api/ingest", strings.NewReader(body.String())); a.code != 503 {
		t.Errorf("an ingest past the query timeout: %d %s, want 503", a.code, a.body)
	}
	if a := do(t, h, "DELETE", "/api/records?pattern=*", nil); a.code != 503 {
		t.Errorf("a delete past the query timeout: %d %s, want 503", a.code, a.body)
	}
	roomy := NewHandler(db)
	if q := decodeQuery(t, do(t, roomy, "GET", "/api/query?pattern=*&limit=0", nil)); q.Total != 50 {
		t.Errorf("after the refused ingest and delete, %d rows; want the 50 stored before", q.Total)
	}
}
