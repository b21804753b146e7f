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

// openTemp opens a database file in a new temporary directory; the returned
// func closes it and removes the directory.
func openTemp(ctx context.Context, opts ...rechist.Option) (*rechist.DB, func()) {
	dir, err := os.MkdirTemp("", "rechist-example")
	if err != nil {
		log.Fatal(err)
	}
	db, err := rechist.Open(ctx, filepath.Join(dir, "history.db"), opts...)
	if err != nil {
		os.RemoveAll(dir)
		log.Fatal(err)
	}
	return db, func() {
		if err := db.Close(); err != nil {
			log.Print(err)
		}
		os.RemoveAll(dir)
	}
}

// Many values in one transaction: all of them are stored, or none.
func ExampleRepo_StoreMany() {
	ctx := context.Background()
	db, done := openTemp(ctx)
	defer done()

	temps := rechist.NewRepo[float64](db)
	t0 := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	err := temps.StoreMany(ctx, []rechist.Record[float64]{
		{Name: "sensors.temp.kitchen", Value: 21.5, StoredAt: t0},
		{Name: "sensors.temp.kitchen", Value: 21.0, StoredAt: t0.Add(time.Minute)},
		{Name: "sensors.temp.office", Value: 19.5, StoredAt: t0},
	})
	if err != nil {
		log.Fatal(err)
	}
	rows, err := temps.Query(ctx, "sensors.temp.*", rechist.QueryParams{})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range rows {
		fmt.Println(r.Name, r.StoredAt.Format(time.RFC3339), r.Value)
	}
	// Output:
	// sensors.temp.kitchen 2026-11-25T08:01:00Z 21
	// sensors.temp.kitchen 2026-11-25T08:00:00Z 21.5
	// sensors.temp.office 2026-11-25T08:00:00Z 19.5
}

// Cleanup deletes the rows stored before the cutoff (the cutoff itself is
// kept) and says how many it deleted.
func ExampleDB_Cleanup() {
	ctx := context.Background()
	db, done := openTemp(ctx)
	defer done()

	counts := rechist.NewRepo[int](db)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var recs []rechist.Record[int]
	for day := range 10 {
		recs = append(recs, rechist.Record[int]{Name: "visits", Value: day, StoredAt: t0.AddDate(0, 0, day)})
	}
	if err := counts.StoreMany(ctx, recs); err != nil {
		log.Fatal(err)
	}

	n, err := db.Cleanup(ctx, t0.AddDate(0, 0, 7))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deleted", n)
	left, err := counts.Query(ctx, "visits", rechist.QueryParams{})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range left {
		fmt.Println(r.StoredAt.Format(time.DateOnly), r.Value)
	}
	// Output:
	// deleted 7
	// 2026-11-10 9
	// 2026-11-09 8
	// 2026-11-08 7
}

// Stats counts what the DB did. A Repo skips (and counts) the rows whose
// JSON does not decode into its type: here the string stored under
// "mixed::b" is not a float64.
func ExampleDB_Stats() {
	ctx := context.Background()
	db, done := openTemp(ctx)
	defer done()

	t0 := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	if err := rechist.NewRepo[float64](db).StoreMany(ctx, []rechist.Record[float64]{
		{Name: "mixed::a", Value: 1, StoredAt: t0},
		{Name: "mixed::a", Value: 2, StoredAt: t0.Add(time.Second)},
	}); err != nil {
		log.Fatal(err)
	}
	if err := rechist.NewRepo[string](db).StoreAt(ctx, "mixed::b", "two", t0); err != nil {
		log.Fatal(err)
	}

	rows, err := rechist.QueryLatest[float64](ctx, db, "mixed::*", 5)
	if err != nil {
		log.Fatal(err)
	}
	st := db.Stats()
	fmt.Println("returned", len(rows))
	fmt.Println("requests", st.Requests, "rows written", st.RowsWritten, "write errors", st.WriteErrors)
	fmt.Println("skipped rows", st.SkippedRows)
	// Output:
	// returned 2
	// requests 2 rows written 3 write errors 0
	// skipped rows 1
}

// WithRetention deletes old rows in the background: once right after Open,
// then every cleanup interval (see WithCleanupInterval).
func ExampleWithRetention() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "rechist-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "history.db")

	// A file with one row from 2020 and one from now.
	db, err := rechist.Open(ctx, path)
	if err != nil {
		log.Fatal(err)
	}
	notes := rechist.NewRepo[string](db)
	if err := notes.StoreAt(ctx, "notes::old", "from 2020", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		log.Fatal(err)
	}
	if err := notes.Store(ctx, "notes::new", "from now"); err != nil {
		log.Fatal(err)
	}
	if err := db.Close(); err != nil {
		log.Fatal(err)
	}

	// Opened again with a week's retention, the first cleanup deletes the
	// 2020 row.
	db, err = rechist.Open(ctx, path, rechist.WithRetention(7*24*time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	for db.Stats().Cleanups == 0 { // wait for the first background cleanup
		time.Sleep(time.Millisecond)
	}
	left, err := rechist.NewRepo[string](db).QueryLatest(ctx, "notes::*", 1)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range left {
		fmt.Println(r.Name, r.Value)
	}
	fmt.Println("deleted", db.Stats().RowsDeleted)
	// Output:
	// notes::new from now
	// deleted 1
}
