package rechist_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/seed178a96f3/rechist"
)

// Keep each pattern's history as long as it is worth: sensors a week, one
// record forever, everything else (WithRetention) a day. The policies live
// in the file, so every process that opens it applies the same ones.
func ExampleDB_SetPolicy() {
	dir, err := os.MkdirTemp("", "rechist-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := rechist.Open(ctx, filepath.Join(dir, "history.db"), rechist.WithRetention(24*time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	for db.Stats().RetentionPasses == 0 { // the pass every Open runs, on an empty file
		time.Sleep(time.Millisecond)
	}
	for _, p := range []rechist.Policy{
		{Pattern: "sensors::*", Raw: 7 * 24 * time.Hour},
		{Pattern: "sensors::calibration", Raw: 0}, // forever: the most specific policy wins
	} {
		if err := db.SetPolicy(ctx, p); err != nil {
			log.Fatal(err)
		}
	}
	r := rechist.NewRepo[float64](db)
	threeDaysAgo := time.Now().Add(-72 * time.Hour)
	for _, name := range []string{"sensors::temp", "sensors::calibration", "notes::x"} {
		if err := r.StoreAt(ctx, name, 1.5, threeDaysAgo); err != nil {
			log.Fatal(err)
		}
	}

	plan, err := db.PlanRetention(ctx, nil, nil) // what a pass would delete now
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("a pass would delete %d row of %d record\n", plan.Rows, plan.Records)
	if _, err := db.ApplyRetention(ctx); err != nil {
		log.Fatal(err)
	}
	left, err := r.QueryLatest(ctx, "*", 1)
	if err != nil {
		log.Fatal(err)
	}
	for _, rec := range left {
		fmt.Println("kept", rec.Name)
	}
	// Output:
	// a pass would delete 1 row of 1 record
	// kept sensors::calibration
	// kept sensors::temp
}
