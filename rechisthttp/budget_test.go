package rechisthttp

import (
	"encoding/json"
	"io"
	"testing"
	"time"
)

// The query timeout bounds the database work, not the client's download:
// a client that pauses reading for longer than the timeout (but less than
// the write timeout) still gets its whole answer. (Before: the deadline
// passed while the handler waited for the client, and the next window's
// query failed mid-answer, cutting it.)
func TestQueryBudgetExcludesClientTime(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	storeRows(t, db, "big", 2000, 600) // about 1.2 MB, far beyond the sockets' buffers
	const timeout = 2 * time.Second
	h := NewHandler(db, WithQueryTimeout(timeout))
	h.cfg.windowRows = 100 // many windows, so queries remain after the pause
	url, client, _ := tightServer(t, h)
	res := open(t, client, url+"/api/query?limit=0")
	time.Sleep(2 * timeout)
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("after %d bytes: %v", len(b), err)
	}
	var q queryAnswer
	if err := json.Unmarshal(b, &q); err != nil || q.Total != 2000 || len(q.Records) != 2000 {
		t.Fatalf("total %d, %d records, %v", q.Total, len(q.Records), err)
	}
}
