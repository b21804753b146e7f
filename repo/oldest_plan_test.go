package repo

import (
	"strings"
	"testing"

	"github.com/seed178a96f3/rechist/db"
	"github.com/seed178a96f3/rechist/internal/core"
)

// A read oldest first walks idx_record_time backwards with no sort.
func TestQueryPlanOldestFirstHasNoSort(t *testing.T) {
	e := openTest(t, core.Config{})
	mustInsert(t, e, core.Row{Name: "a", ValueJSON: "1", StoredAt: 1})
	for _, q := range []string{db.RecordRowsOldest} {
		plan := explain(t, e, q, "a", 0, 10, 100)
		t.Logf("plan:\n%s", plan)
		if !strings.Contains(plan, "USING INDEX idx_record_time (record_name=? AND stored_at>? AND stored_at<?)") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("plan of %.40q... sorts or does not seek idx_record_time:\n%s", q, plan)
		}
	}
}
