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

// Store typed values and read back the latest per record, as in the Rust
// crate's README.
func Example() {
	type Accuracy struct {
		Value float64 `json:"value"`
		City  string  `json:"city"`
	}
	dir, err := os.MkdirTemp("", "rechist-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	db, err := rechist.Open(ctx, filepath.Join(dir, "data", "history.db"),
		rechist.WithRetention(7*24*time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	acc := rechist.NewRepo[Accuracy](db)
	now := time.Now().Truncate(time.Minute)
	for i, v := range []float64{0.91, 0.93, 0.95} {
		at := now.Add(time.Duration(i) * time.Minute)
		if err := acc.StoreAt(ctx, "accuracy::vienna", Accuracy{Value: v, City: "Vienna"}, at); err != nil {
			log.Fatal(err)
		}
	}
	if err := acc.Store(ctx, "accuracy::graz", Accuracy{Value: 0.88, City: "Graz"}); err != nil {
		log.Fatal(err)
	}

	latest, err := rechist.QueryLatest[Accuracy](ctx, db, "accuracy::*", 2)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range latest {
		fmt.Printf("%s %.2f\n", r.Name, r.Value.Value)
	}
	// Output:
	// accuracy::graz 0.88
	// accuracy::vienna 0.95
	// accuracy::vienna 0.93
}

// A time range with both bounds inclusive and a per-record limit.
func ExampleRepo_Query() {
	ctx := context.Background()
	db, err := rechist.Open(ctx, rechist.MemoryPath)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	temps := rechist.NewRepo[float64](db)
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for i := range 6 {
		for _, room := range []string{"kitchen", "office"} {
			if err := temps.StoreAt(ctx, "sensors.temp."+room, 20+float64(i)/2, t0.Add(time.Duration(i)*time.Minute)); err != nil {
				log.Fatal(err)
			}
		}
	}
	rows, err := temps.Query(ctx, "sensors.temp.*", rechist.QueryParams{
		Start:          t0.Add(time.Minute),
		End:            t0.Add(3 * time.Minute),
		LimitPerRecord: 2,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range rows {
		fmt.Println(r.Name, r.StoredAt.Format("15:04"), r.Value)
	}
	// Output:
	// sensors.temp.kitchen 12:03 21.5
	// sensors.temp.kitchen 12:02 21
	// sensors.temp.office 12:03 21.5
	// sensors.temp.office 12:02 21
}
