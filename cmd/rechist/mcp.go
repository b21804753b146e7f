package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/rechistmcp"
)

// mcpCmd serves the history to an assistant: the Model Context Protocol
// over standard input and output (issue 26).
type mcpCmd struct {
	Writable     bool     `help:"Open the database for writing and add the store_value tool. Without it the server only reads: it never creates or changes a file."`
	TZ           string   `name:"tz" placeholder:"ZONE" help:"Print times in this zone and read local times in it unless a tool call names its own (an IANA name such as Europe/Vienna, or Local). Default: UTC."`
	QueryTimeout duration `name:"query-timeout" default:"30s" placeholder:"DURATION" help:"Bound each tool call (default 30s)."`
	Topics       bool     `name:"topics" help:"Read the tools' patterns as AimDB topic patterns: dot-separated segments, * matches one segment, # zero or more (sensors.#, temp.*.indoor)."`
}

func (c *mcpCmd) Help() string {
	return `Runs an MCP server on standard input and output, for an assistant
(Claude Desktop, an IDE) that starts it as a subprocess. Its tools list
records, read the latest values, a time range (bounded), aggregates in time
buckets, and the records that stopped reporting. Logs go to standard error.
See docs/mcp.md for the client configuration.

Example:
  rechist mcp --db /path/to/history.db
  rechist mcp --db /path/to/history.db --tz Europe/Vienna`
}

func (c *mcpCmd) Run(e *env) error {
	if c.QueryTimeout <= 0 {
		return usagef("--query-timeout must be positive, got %v", c.QueryTimeout)
	}
	var zone *time.Location
	if c.TZ != "" {
		var err error
		if zone, err = time.LoadLocation(c.TZ); err != nil {
			return usagef("--tz %q: %v (want an IANA zone name such as Europe/Vienna, UTC or Local)", c.TZ, err)
		}
	}
	var db *rechist.DB
	var err error
	tf := topicFlag{Topics: c.Topics}
	if c.Writable {
		db, err = e.open(tf.options()...)
	} else {
		db, err = e.openRead(tf.options()...)
	}
	if err != nil {
		return err
	}
	defer db.Close()

	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := []rechistmcp.Option{rechistmcp.WithLocation(zone), rechistmcp.WithLogger(logger),
		rechistmcp.WithQueryTimeout(time.Duration(c.QueryTimeout)), rechistmcp.WithVersion(sourceVersion)}
	mode := "read-only"
	if c.Writable {
		opts = append(opts, rechistmcp.Writable())
		mode = "writable"
	}
	if c.Topics {
		opts = append(opts, rechistmcp.TopicPatterns())
	}
	fmt.Fprintf(e.stderr, "rechist mcp: serving %s (%s) over standard input and output\n", db.Path(), mode)
	srv := rechistmcp.NewServer(db, opts...)
	err = srv.Run(e.ctx, &mcp.IOTransport{Reader: io.NopCloser(e.stdin), Writer: nopWriteCloser{e.stdout}})
	// The client closing its end (EOF on standard input) is the normal end.
	if err != nil && (errors.Is(err, io.EOF) || errors.Is(err, mcp.ErrConnectionClosed)) && e.ctx.Err() == nil {
		err = nil
	}
	if err != nil {
		return err
	}
	return db.Close()
}

// nopWriteCloser leaves standard output open when the transport closes.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
