package rechistmcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/seed178a96f3/rechist"
)

// point is one stored value of the fixture.
type point struct {
	name    string
	at      time.Time
	celsius float64
}

// fixture is what fill stored, for the tests to compute answers from
// independently of the server.
type fixture struct {
	path   string
	now    time.Time // the minute the history ends at
	points []point   // the temperature rows, in time order
}

// fill writes a week of temperatures every 10 minutes: vienna stops
// reporting two hours before now, graz reports until now; celsius is a
// known function of the time. Plus three accuracy rows, and one value too
// long to show whole.
func fill(t *testing.T) fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "history.db")
	db, err := rechist.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{path: path, now: time.Now().UTC().Truncate(time.Minute)}
	type temp struct {
		Celsius float64 `json:"celsius"`
	}
	var recs []rechist.Record[temp]
	for at := f.now.Add(-7 * 24 * time.Hour); !at.After(f.now); at = at.Add(10 * time.Minute) {
		for _, city := range []string{"graz", "vienna"} {
			if city == "vienna" && at.After(f.now.Add(-2*time.Hour)) {
				continue
			}
			c := float64(at.Hour()) + float64(at.Minute())/100
			if city == "graz" {
				c = -c
			}
			recs = append(recs, rechist.Record[temp]{Name: "temperature::" + city, Value: temp{c}, StoredAt: at})
			f.points = append(f.points, point{"temperature::" + city, at, c})
		}
	}
	if err := rechist.NewRepo[temp](db).StoreMany(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	raw := rechist.NewRepo[json.RawMessage](db)
	for i, v := range []string{`{"value":0.9,"city":"vienna"}`, `{"value":0.91,"city":"vienna"}`, `{"value":0.93,"city":"vienna"}`} {
		if err := raw.StoreAt(t.Context(), "accuracy::vienna", json.RawMessage(v), f.now.Add(time.Duration(i-3)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	big := json.RawMessage(`"` + strings.Repeat("é", 5000) + `"`)
	if err := raw.StoreAt(t.Context(), "blob::big", big, f.now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return f
}

// openRead opens the fixture read-only, closed at the end of the test.
func openRead(t *testing.T, path string, opts ...rechist.Option) *rechist.DB {
	t.Helper()
	db, err := rechist.Open(t.Context(), path, append(opts, rechist.WithReadOnly())...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// connectHTTP serves db's Handler on an httptest server and connects the
// SDK's client to it over the streamable HTTP transport.
func connectHTTP(t *testing.T, db *rechist.DB, opts ...Option) *mcp.ClientSession {
	t.Helper()
	srv := httptest.NewServer(Handler(db, opts...))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "rechistmcp-test", Version: "v0"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp", DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connecting over HTTP: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// callRaw calls a tool and fails the test on a protocol error.
func callRaw(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s %v: protocol error %v", name, args, err)
	}
	return res
}

// call calls a tool, fails the test on any error, and decodes its
// structured result into out.
func call[Out any](t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) Out {
	t.Helper()
	res := callRaw(t, cs, name, args)
	if res.IsError {
		t.Fatalf("%s %v: tool error %s", name, args, text(res))
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var out Out
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: structured content %s: %v", name, b, err)
	}
	// The text content carries the same JSON, for clients that show only
	// text to the model.
	if txt := text(res); !json.Valid([]byte(txt)) {
		t.Errorf("%s: text content is not the JSON result: %.200s", name, txt)
	}
	return out
}

// text is a result's text content.
func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// rfc prints t as the tools do in UTC.
func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// stats are count, min, max, mean, first, last of some numbers.
type stats struct {
	count                       int64
	min, max, mean, first, last float64
}

func (s stats) String() string {
	return fmt.Sprintf("n=%d min=%g max=%g mean=%.6f first=%g last=%g", s.count, s.min, s.max, s.mean, s.first, s.last)
}

func summarize(vs []float64) stats {
	s := stats{count: int64(len(vs)), min: vs[0], max: vs[0], first: vs[0], last: vs[len(vs)-1]}
	sum := 0.0
	for _, v := range vs {
		s.min, s.max = min(s.min, v), max(s.max, v)
		sum += v
	}
	s.mean = sum / float64(len(vs))
	return s
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func formatG(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func itoa(n int) string { return strconv.Itoa(n) }

// openWrite opens the fixture for writing, closed at the end of the test.
func openWrite(t *testing.T, path string) (*rechist.DB, error) {
	db, err := rechist.Open(t.Context(), path)
	if err == nil {
		t.Cleanup(func() { db.Close() })
	}
	return db, err
}

// at fixes the server's clock at now: relative times and ages are then
// exact.
func at(now time.Time) Option { return func(c *config) { c.now = func() time.Time { return now } } }

// serve serves db's Handler on an httptest server and returns its URL.
func serve(t *testing.T, db *rechist.DB, opts ...Option) string {
	t.Helper()
	srv := httptest.NewServer(Handler(db, opts...))
	t.Cleanup(srv.Close)
	return srv.URL
}

// connectHTTPVersion is connectHTTP asking for protocol version v.
func connectHTTPVersion(t *testing.T, db *rechist.DB, v string, opts ...Option) *mcp.ClientSession {
	t.Helper()
	url := serve(t, db, opts...)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "rechistmcp-test", Version: "v0"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url + "/mcp", DisableStandaloneSSE: true, MaxRetries: -1}, &mcp.ClientSessionOptions{ProtocolVersion: v})
	if err != nil {
		t.Fatalf("connecting over HTTP with protocol %s: %v", v, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// callCtx is a context for one call of a test: the test's, with a
// deadline.
func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
