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

// openExample opens a database in a new temp dir; the func it returns
// closes it and removes the dir.
func openExample(opts ...rechist.Option) (*rechist.DB, func()) {
	dir, err := os.MkdirTemp("", "rechist-example")
	if err != nil {
		log.Fatal(err)
	}
	db, err := rechist.Open(context.Background(), filepath.Join(dir, "history.db"), opts...)
	if err != nil {
		log.Fatal(err)
	}
	return db, func() { db.Close(); os.RemoveAll(dir) }
}

// Stream every matching record, one at a time: memory does not grow with
// the result.
func ExampleRepo_All() {
	db, done := openExample()
	defer done()
	ctx := context.Background()
	temp := rechist.NewRepo[float64](db)
	t0 := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	for i, c := range []float64{-0.5, 0.25, 1.5} {
		if err := temp.StoreAt(ctx, "temperature::vienna", c, t0.Add(time.Duration(i)*time.Hour)); err != nil {
			log.Fatal(err)
		}
	}
	for rec, err := range temp.All(ctx, "temperature::*", rechist.QueryParams{Start: t0.Add(time.Hour)}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(rec.StoredAt.Format(time.TimeOnly), rec.Value)
	}
	// Output:
	// 10:00:00 1.5
	// 09:00:00 0.25
}

// Hourly statistics of a field, computed in the database.
func ExampleDB_Aggregate() {
	type Temperature struct {
		Celsius float64 `json:"celsius"`
	}
	db, done := openExample()
	defer done()
	ctx := context.Background()
	temp := rechist.NewRepo[Temperature](db)
	t0 := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	for i, c := range []float64{1, 3, 2, 10} {
		at := t0.Add(time.Duration(i) * 25 * time.Minute) // 08:00 08:25 08:50 09:15
		if err := temp.StoreAt(ctx, "temperature::vienna", Temperature{c}, at); err != nil {
			log.Fatal(err)
		}
	}
	series, err := db.Aggregate(ctx, "temperature::*", rechist.AggregateParams{Field: "celsius", Every: time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range series {
		for _, b := range s.Buckets {
			fmt.Printf("%s %s n=%d min=%g mean=%g max=%g last=%g\n",
				s.Name, b.Start.Format("15:04"), b.Count, b.Min, b.Mean, b.Max, b.Last)
		}
	}
	// Output:
	// temperature::vienna 08:00 n=3 min=1 mean=2 max=3 last=2
	// temperature::vienna 09:00 n=1 min=10 mean=10 max=10 last=10
}

// Topic patterns, as AimDB matches them: '*' is one segment, '#' any
// number.
func ExampleWithTopicPatterns() {
	db, done := openExample(rechist.WithTopicPatterns())
	defer done()
	ctx := context.Background()
	r := rechist.NewRepo[int](db)
	for _, name := range []string{"sensors", "sensors.temp.vienna", "sensors_extra.temp", "temp.vienna.indoor"} {
		if err := r.Store(ctx, name, 1); err != nil {
			log.Fatal(err)
		}
	}
	for _, pattern := range []string{"sensors.#", "temp.*", "#.indoor"} {
		infos, err := db.Records(ctx, pattern)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(pattern, ":")
		for _, i := range infos {
			fmt.Print(" ", i.Name)
		}
		fmt.Println()
	}
	// Output:
	// sensors.#: sensors sensors.temp.vienna
	// temp.*:
	// #.indoor: temp.vienna.indoor
}
