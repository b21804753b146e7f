package rechistmcp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/seed178a96f3/rechist"
)

// Option configures [NewServer] and [Handler].
type Option func(*config)

type config struct {
	writable     bool
	topics       bool
	zone         *time.Location
	queryTimeout time.Duration
	maxRows      int
	maxValue     int
	maxResult    int
	maxBuckets   int
	maxRecords   int
	maxCalls     int
	version      string
	logger       *slog.Logger
	// guarded says the caller checks Host and Origin itself
	// (WithoutLocalhostProtection).
	guarded bool
	// now is the clock of relative times and ages; tests set it, and
	// countCap and mergeCap (history.go).
	now                func() time.Time
	countCap, mergeCap int
}

// Writable adds the store_value tool, which stores a value under a record
// name. Without it the server only reads: no tool writes, and a DB opened
// with [rechist.WithReadOnly] is enough.
func Writable() Option { return func(c *config) { c.writable = true } }

// TopicPatterns says the DB was opened with [rechist.WithTopicPatterns]:
// the tools then describe AimDB's topic patterns (sensors.#, temp.*) and
// the default pattern is "#" instead of "*".
func TopicPatterns() Option { return func(c *config) { c.topics = true } }

// WithLocation is the zone the tools print times in and read local dates
// and times ("2026-11-25 08:00") in when a call names no zone of its own
// ("tz"); default UTC. nil is ignored.
func WithLocation(loc *time.Location) Option {
	return func(c *config) {
		if loc != nil {
			c.zone = loc
		}
	}
}

// WithQueryTimeout bounds each tool call (default 30 s): the time it waits
// for a slot ([WithMaxConcurrentCalls]) and the time it queries. A call
// that finds no free slot within it, and one whose query runs past it,
// answer tool errors that say which (a free slot is taken at once,
// whatever time is left). A call the client cancels answers "cancelled"
// and is not logged.
func WithQueryTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.queryTimeout = d
		}
	}
}

// WithMaxRows is the most rows (query_history), values (latest_values)
// and records (list_records, stale_records) one call returns, whatever its
// "limit" asks (default 1000); each tool's own default is smaller (100).
// Values over 0 only.
func WithMaxRows(n int) Option { return positive(n, func(c *config) *int { return &c.maxRows }) }

// WithMaxBuckets is the most buckets one aggregate call returns (default
// 2000) and the most it lets the database compute is 100 times that.
func WithMaxBuckets(n int) Option { return positive(n, func(c *config) *int { return &c.maxBuckets }) }

// WithMaxValueBytes is the longest value, as JSON text, a result carries
// whole (default 2048 bytes): a longer one comes as value_preview, its
// first bytes as a string, with value_bytes its full length.
func WithMaxValueBytes(n int) Option { return positive(n, func(c *config) *int { return &c.maxValue }) }

// WithMaxResultBytes bounds the JSON of the rows, values, records or
// buckets of one result (default 256 KiB; at about 3 to 4 bytes a token
// of JSON, some 65k to 90k tokens), each measured as it is encoded: past
// it the farthest from what was asked for are left out and the result
// says it is truncated. The SDK sends a result twice, as structured
// content and as the same JSON in a text block (for clients that show
// only text to the model), so a response on the wire is up to about
// twice this; a model reads one of them.
func WithMaxResultBytes(n int) Option {
	return positive(n, func(c *config) *int { return &c.maxResult })
}

// WithMaxConcurrentCalls bounds the tool calls that query at once
// (default 4); the others wait, within [WithQueryTimeout].
func WithMaxConcurrentCalls(n int) Option {
	return positive(n, func(c *config) *int { return &c.maxCalls })
}

// WithVersion is the version the server reports in its implementation
// info (default "devel").
func WithVersion(v string) Option {
	return func(c *config) {
		if v != "" {
			c.version = v
		}
	}
}

// WithLogger logs failed tool calls (database errors, not bad arguments)
// and the SDK's own events; silent by default.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithoutLocalhostProtection turns off the SDK's DNS rebinding check in
// [Handler] (a request that reaches a loopback address with a Host that is
// not a loopback name answers 403), for a caller that checks Host and
// Origin itself: rechisthttp's guard, which also lets allowed hosts and
// token holders through. Without such a guard, leave it on.
func WithoutLocalhostProtection() Option { return func(c *config) { c.guarded = true } }

// positive is an option that sets the int field returns to n, when n is
// over 0 (the limits' options ignore any other value).
func positive(n int, field func(*config) *int) Option {
	return func(c *config) {
		if n > 0 {
			*field(c) = n
		}
	}
}

func newConfig(opts []Option) config {
	c := config{
		zone:         time.UTC,
		queryTimeout: 30 * time.Second,
		maxRows:      1000,
		maxValue:     2048,
		maxResult:    256 << 10,
		maxBuckets:   2000,
		maxRecords:   1000,
		maxCalls:     4,
		version:      "devel",
		logger:       slog.New(slog.DiscardHandler),
		now:          func() time.Time { return time.Now().Round(0).Truncate(time.Millisecond) },
		countCap:     defaultCountCap,
		mergeCap:     defaultMergeCap,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	c.maxRecords = c.maxRows
	return c
}

// NewServer returns an MCP server whose tools read db (and, with
// [Writable], store into it). Run it on a transport ([mcp.StdioTransport]
// for a subprocess of an assistant) or serve it over HTTP with [Handler].
// It is safe for concurrent use by any number of sessions; it holds
// nothing to close, and closing db makes every tool call answer a tool
// error.
func NewServer(db *rechist.DB, opts ...Option) *mcp.Server {
	cfg := newConfig(opts)
	return newServer(db, cfg)
}

func newServer(db *rechist.DB, cfg config) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "rechist", Title: "rechist history", Version: cfg.version},
		&mcp.ServerOptions{
			Instructions: instructions(cfg),
			Logger:       cfg.logger,
			// No logging capability: the server sends no log messages.
			Capabilities: &mcp.ServerCapabilities{},
		})
	t := &tools{db: db, cfg: cfg, slots: make(chan struct{}, cfg.maxCalls)}
	t.register(s)
	return s
}

// Handler serves db's MCP server over the streamable HTTP transport
// (the MCP specification's "Streamable HTTP", one endpoint for POST, GET
// and DELETE). Mount it at any path, e.g. mux.Handle("/mcp", h); it
// answers every path it is given. It checks no token: wrap it in the
// caller's authentication.
//
// It is stateless (the SDK's StreamableHTTPOptions.Stateless): the tools
// never call back to the client, so each POST is answered on its own, no
// session is kept between requests (nothing to expire or to cap), GET and
// DELETE answer 405, and a client that goes away cancels its call.
func Handler(db *rechist.DB, opts ...Option) http.Handler {
	cfg := newConfig(opts)
	s := newServer(db, cfg)
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{
		Logger:                       cfg.logger,
		Stateless:                    true,
		JSONResponse:                 true,
		PropagateRequestCancellation: true,
		DisableLocalhostProtection:   cfg.guarded,
	})
}

// instructions tell the assistant what the server holds and how to ask.
func instructions(cfg config) string {
	s := "rechist keeps the history of named records (a sensor, a metric): each row is a JSON value with the time it was stored. " +
		"Start with list_records to see the names, their row counts and time spans; latest_values for the newest values; " +
		"query_history for raw rows in a time range (bounded; it says when it truncated); aggregate for count/min/mean/max per time bucket " +
		"(use it for long ranges and trends); stale_records for the records that stopped reporting. " + patternText(cfg) + " " +
		"Times are read as RFC 3339 (2026-11-25T08:00:00Z), a local date and time (2026-11-25 08:00, in the call's tz), " +
		"a duration back from now (7d, 36h, 90m) or \"now\"; times come back in RFC 3339 with their zone."
	if cfg.writable {
		s += " store_value stores a value: only when the user asks to record something."
	}
	return s
}

// patternText explains the DB's pattern language.
func patternText(cfg config) string {
	if cfg.topics {
		return "Patterns are AimDB topic patterns: dot-separated segments, * matches exactly one segment, # zero or more (sensors.#, temp.*.indoor); a pattern without wildcards names one record."
	}
	return "Patterns: * matches any run of characters (temperature::*, *vienna*), every other character is literal, the match is case-sensitive; a pattern without * names one record."
}

// defaultPattern matches every record.
func (c config) defaultPattern() string {
	if c.topics {
		return "#"
	}
	return "*"
}

// tools holds what every tool call needs.
type tools struct {
	db    *rechist.DB
	cfg   config
	slots chan struct{}
}

// call bounds a tool call: a slot and the query timeout. The returned
// release must be called.
func (t *tools) call(ctx context.Context) (context.Context, func(), error) {
	// A call whose client has gone, or whose ctx is done already, is
	// never reported as waiting for a slot.
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	qctx, cancel := context.WithTimeout(ctx, t.cfg.queryTimeout)
	select {
	case t.slots <- struct{}{}:
		// A free slot is taken whatever the time left: the query then
		// runs into its own timeout.
	default:
		select {
		case t.slots <- struct{}{}:
		case <-qctx.Done():
			cancel()
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			return nil, nil, fmt.Errorf("%w within %v (%d calls in progress); try again", errNoSlot, t.cfg.queryTimeout, cap(t.slots))
		}
	}
	return qctx, func() { <-t.slots; cancel() }, nil
}

// errNoSlot is a call that waited its whole query timeout for a slot.
var errNoSlot = errors.New("no free slot")
