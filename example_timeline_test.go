package rechist_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/seed178a96f3/rechist"
)

// Stream the rows of several records merged in time order, the newest two
// of each, oldest first.
func ExampleRepo_Timeline() {
	db, done := openExample()
	defer done()
	ctx := context.Background()
	temp := rechist.NewRepo[float64](db)
	t0 := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	for i, c := range []float64{-0.5, 0.25, 1.5} {
		for _, city := range []string{"vienna", "graz"} {
			if err := temp.StoreAt(ctx, "temperature::"+city, c, t0.Add(time.Duration(i)*time.Hour)); err != nil {
				log.Fatal(err)
			}
		}
	}
	for rec, err := range temp.Timeline(ctx, "temperature::*", rechist.QueryParams{LimitPerRecord: 2}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(rec.StoredAt.Format(time.TimeOnly), rec.Name, rec.Value)
	}
	// Output:
	// 09:00:00 temperature::graz 0.25
	// 09:00:00 temperature::vienna 0.25
	// 10:00:00 temperature::graz 1.5
	// 10:00:00 temperature::vienna 1.5
}
