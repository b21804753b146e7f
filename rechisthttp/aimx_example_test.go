package rechisthttp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/rechisthttp"
)

// An AimX 3.0 server on a Unix socket, and a client that says hello and
// asks for a record's history with record.query.
func ExampleHandler_ServeAIMX() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "aimx")
	defer os.RemoveAll(dir)
	db, err := rechist.Open(ctx, filepath.Join(dir, "history.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	temp := rechist.NewRepo[json.RawMessage](db)
	for i, c := range []string{`{"c":18.5}`, `{"c":19.0}`, `{"c":21.5}`} {
		temp.StoreAt(ctx, "temp.vienna", json.RawMessage(c), time.UnixMilli(int64(1000*(i+1))))
	}

	ln, err := net.Listen("unix", filepath.Join(dir, "aimx.sock"))
	if err != nil {
		panic(err)
	}
	h := rechisthttp.NewHandler(db)
	ctx, stop := context.WithCancel(ctx)
	served := make(chan error)
	go func() { served <- h.ServeAIMX(ctx, ln) }()

	conn, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	fmt.Fprintln(conn, `{"t":"req","id":1,"method":"hello","params":{"client":"example","version":"3.0"}}`)
	fmt.Fprintln(conn, `{"t":"req","id":2,"method":"record.query","params":{"name":"temp.#","limit":2}}`)
	conn.SetReadDeadline(time.Now().Add(time.Minute)) // no reply: the Scan fails
	replies := bufio.NewScanner(conn)
	for range 2 {
		replies.Scan()
		fmt.Println(replies.Text())
	}
	conn.Close()
	stop()
	fmt.Println(<-served)
	// Output:
	// {"t":"reply","id":1,"ok":{"version":"3.0","server":"rechist","permissions":["read"],"writable_records":[],"max_subscriptions":32,"authenticated":false}}
	// {"t":"reply","id":2,"ok":{"records":[{"topic":"temp.vienna","payload":{"c":19.0},"ts":2000},{"topic":"temp.vienna","payload":{"c":21.5},"ts":3000}],"total":2}}
	// <nil>
}
