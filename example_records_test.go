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

// roomsExample opens a new history in a temporary directory and stores
// three readings of two rooms, a minute apart, at a fixed time.
func roomsExample(ctx context.Context) (*rechist.DB, func()) {
	dir, err := os.MkdirTemp("", "rechist-example")
	if err != nil {
		log.Fatal(err)
	}
	db, err := rechist.Open(ctx, filepath.Join(dir, "history.db"))
	if err != nil {
		log.Fatal(err)
	}
	base := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	r := rechist.NewRepo[float64](db)
	for i, v := range []float64{20.5, 21, 21.5} {
		for _, room := range []string{"room::kitchen", "room::office"} {
			if err := r.StoreAt(ctx, room, v, base.Add(time.Duration(i)*time.Minute)); err != nil {
				log.Fatal(err)
			}
		}
	}
	return db, func() { db.Close(); os.RemoveAll(dir) }
}

// The newest value of one record, by its exact name.
func ExampleRepo_Latest() {
	ctx := context.Background()
	db, done := roomsExample(ctx)
	defer done()

	rec, err := rechist.NewRepo[float64](db).Latest(ctx, "room::office")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rec.Name, rec.Value, rec.StoredAt.UTC().Format(time.TimeOnly))
	// Output: room::office 21.5 08:02:00
}

// The newest n values of every record a pattern matches, newest first per
// record.
func ExampleQueryLatest() {
	ctx := context.Background()
	db, done := roomsExample(ctx)
	defer done()

	recs, err := rechist.QueryLatest[float64](ctx, db, "room::*", 1)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		fmt.Println(r.Name, r.Value)
	}
	// Output:
	// room::kitchen 21.5
	// room::office 21.5
}

// Each record's rows and time span, from the names table: a row a record,
// however long the history.
func ExampleDB_Records() {
	ctx := context.Background()
	db, done := roomsExample(ctx)
	defer done()

	infos, err := db.Records(ctx, "room::*")
	if err != nil {
		log.Fatal(err)
	}
	for _, info := range infos {
		fmt.Println(info.Name, info.Rows, info.First.UTC().Format(time.TimeOnly), info.Last.UTC().Format(time.TimeOnly))
	}
	// Output:
	// room::kitchen 3 08:00:00 08:02:00
	// room::office 3 08:00:00 08:02:00
}

// Delete the rows of the records a pattern matches within a time range,
// both bounds inclusive.
func ExampleDB_Delete() {
	ctx := context.Background()
	db, done := roomsExample(ctx)
	defer done()

	base := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	n, err := db.Delete(ctx, "room::kitchen", rechist.QueryParams{Start: base, End: base.Add(time.Minute)})
	if err != nil {
		log.Fatal(err)
	}
	infos, err := db.Records(ctx, "room::*")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deleted", n)
	for _, info := range infos {
		fmt.Println(info.Name, info.Rows)
	}
	// Output:
	// deleted 2
	// room::kitchen 1
	// room::office 3
}
