package postgres

import (
	"slices"
	"testing"
)

// The migration sizes autovacuum for retention (00008): a vacuum follows a
// cleanup of 1% of the rows rather than 20%.
func TestAutovacuumSizedForRetention(t *testing.T) {
	e := openEngine(t)
	var opts []string
	if err := e.pool.QueryRow(t.Context(), `SELECT COALESCE(reloptions, '{}') FROM pg_class WHERE oid = 'record_history'::regclass`).Scan(&opts); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"autovacuum_vacuum_scale_factor=0.01", "autovacuum_vacuum_threshold=10000",
		"autovacuum_analyze_scale_factor=0.01", "autovacuum_analyze_threshold=10000"} {
		if !slices.Contains(opts, want) {
			t.Errorf("record_history's options %q lack %s", opts, want)
		}
	}
}
