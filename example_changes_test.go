package rechist_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/seed178a96f3/rechist"
)

// Follow what is stored from now on, in commit order: start at LastID and
// pass next back each time (a live view polls like this).
func ExampleDB_Changes() {
	db, done := openExample()
	defer done()
	ctx := context.Background()
	temp := rechist.NewRepo[float64](db)
	if err := temp.Store(ctx, "temperature::vienna", 20.5); err != nil {
		log.Fatal(err)
	}
	next, err := db.LastID(ctx) // only what comes after this
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range []float64{21, 21.5} {
		if err := temp.Store(ctx, "temperature::vienna", c); err != nil {
			log.Fatal(err)
		}
	}
	changes, next, err := db.Changes(ctx, "temperature::*", next, 100)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range changes {
		fmt.Println(c.Name, string(c.Value))
	}
	changes, _, _ = db.Changes(ctx, "temperature::*", next, 100)
	fmt.Println(len(changes), "new")
	// Output:
	// temperature::vienna 21
	// temperature::vienna 21.5
	// 0 new
}

// Push a device's history into a central database exactly once; run it
// again (after a crash, an outage, on a timer) and it sends only what is
// new. The destination here is another file; a postgres:// URL works the
// same when the program imports rechist/postgres.
func ExampleSync() {
	dir, err := os.MkdirTemp("", "rechist-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	device, err := rechist.Open(ctx, filepath.Join(dir, "device.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer device.Close()
	server, err := rechist.Open(ctx, filepath.Join(dir, "server.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer server.Close()
	temp := rechist.NewRepo[float64](device)
	for _, c := range []float64{20.5, 21} {
		if err := temp.Store(ctx, "sensors.temp", c); err != nil {
			log.Fatal(err)
		}
	}
	for range 2 {
		res, err := rechist.Sync(ctx, device, server, rechist.SyncPrefix("vienna-gw1."))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("copied", res.Copied, "missed", res.Missed)
	}
	got, err := rechist.QueryLatest[float64](ctx, server, "vienna-gw1.*", 5)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range got {
		fmt.Println(r.Name, r.Value)
	}
	// Output:
	// copied 2 missed 0
	// copied 0 missed 0
	// vienna-gw1.sensors.temp 21
	// vienna-gw1.sensors.temp 20.5
}
