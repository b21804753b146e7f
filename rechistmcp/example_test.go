package rechistmcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/rechistmcp"
)

// A server over a DB, a client of the SDK connected to it in memory, and
// two tool calls an assistant would make.
func ExampleNewServer() {
	ctx := context.Background()
	db, err := rechist.Open(ctx, rechist.MemoryPath)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	type temperature struct {
		Celsius float64 `json:"celsius"`
	}
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	var recs []rechist.Record[temperature]
	for h := range 24 {
		recs = append(recs, rechist.Record[temperature]{Name: "temperature::vienna", Value: temperature{float64(h % 12)}, StoredAt: day.Add(time.Duration(h) * time.Hour)})
	}
	if err := rechist.NewRepo[temperature](db).StoreMany(ctx, recs); err != nil {
		log.Fatal(err)
	}

	server := rechistmcp.NewServer(db)
	serverEnd, clientEnd := mcp.NewInMemoryTransports()
	ss, err := server.Connect(ctx, serverEnd, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer ss.Close()
	client := mcp.NewClient(&mcp.Implementation{Name: "example", Version: "v1"}, nil)
	cs, err := client.Connect(ctx, clientEnd, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer cs.Close()

	call := func(name string, args map[string]any) map[string]any {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			log.Fatal(err)
		}
		var out map[string]any
		b, _ := json.Marshal(res.StructuredContent)
		json.Unmarshal(b, &out)
		return out
	}
	list := call("list_records", map[string]any{"pattern": "temperature::*"})
	for _, r := range list["records"].([]any) {
		r := r.(map[string]any)
		fmt.Println(r["name"], r["rows"], r["first"], r["last"])
	}
	agg := call("aggregate", map[string]any{"pattern": "temperature::vienna", "field": "celsius", "every": "12h", "start": "2026-11-30T00:00:00Z"})
	for _, s := range agg["series"].([]any) {
		for _, b := range s.(map[string]any)["buckets"].([]any) {
			b := b.(map[string]any)
			fmt.Println(b["start"], "count", b["count"], "min", b["min"], "mean", b["mean"], "max", b["max"])
		}
	}
	// Output:
	// temperature::vienna 24 2026-11-30T00:00:00Z 2026-11-30T23:00:00Z
	// 2026-11-30T00:00:00Z count 12 min 0 mean 5.5 max 11
	// 2026-11-30T12:00:00Z count 12 min 0 mean 5.5 max 11
}
