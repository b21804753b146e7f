package postgres_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// Aggregate's exact sums read each float8 as its shortest decimal, which
// PostgreSQL prints only with extra_float_digits at 1 or more: the engine
// sets it, whatever the URL (or the server, or the role) says. With 0,
// 0.30000000000000004 would print as 0.3 and the sum would be off.
func TestAggregateSumsWhateverExtraFloatDigits(t *testing.T) {
	ctx := t.Context()
	dsn := newSchema(t) + "&extra_float_digits=0"
	db, err := rechist.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := rechist.NewRepo[json.RawMessage](db)
	for i := range 3 {
		if err := r.StoreAt(ctx, "x", json.RawMessage("0.30000000000000004"), time.UnixMilli(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	series, err := db.Aggregate(ctx, "x", rechist.AggregateParams{Every: time.Second})
	if err != nil || len(series) != 1 || len(series[0].Buckets) != 1 {
		t.Fatalf("Aggregate: %+v, %v", series, err)
	}
	// 3 x 0.30000000000000004 = 0.90000000000000012, nearest float64
	// 0.9000000000000001; 3 x 0.3 would be 0.9.
	if b := series[0].Buckets[0]; b.Sum != 0.9000000000000001 || b.Mean != 0.30000000000000004 {
		t.Fatalf("sum %v mean %v, want 0.9000000000000001 and 0.30000000000000004", b.Sum, b.Mean)
	}
}
