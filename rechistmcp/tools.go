package rechistmcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/seed178a96f3/rechist"
)

// register adds every tool to s.
func (t *tools) register(s *mcp.Server) {
	addTool(t, s, listRecordsTool(t.cfg), t.listRecords)
	addTool(t, s, latestTool(t.cfg), t.latest)
	addTool(t, s, historyTool(t.cfg), t.history)
	addTool(t, s, aggregateTool(t.cfg), t.aggregate)
	addTool(t, s, staleTool(t.cfg), t.stale)
	if t.cfg.writable {
		addTool(t, s, storeTool(t.cfg), t.store)
	}
}

// addTool registers h as tool: each call takes a slot, runs within the
// query timeout, and any error it returns becomes a tool error (a result
// with isError, which the assistant reads), never a protocol error.
func addTool[In, Out any](t *tools, s *mcp.Server, tool *mcp.Tool, h func(context.Context, In) (Out, error)) {
	mcp.AddTool(s, tool, func(ctx context.Context, _ *mcp.CallToolRequest, in In) (*mcp.CallToolResult, Out, error) {
		var zero Out
		cctx, release, err := t.call(ctx)
		if err != nil {
			return nil, zero, t.toolError(ctx, tool.Name, err)
		}
		ctx = cctx
		defer release()
		out, err := h(ctx, in)
		if err != nil {
			return nil, zero, t.toolError(ctx, tool.Name, err)
		}
		return nil, out, nil
	})
}

// toolError is what the assistant reads of err.
func (t *tools) toolError(ctx context.Context, name string, err error) error {
	var bad *badArg
	switch {
	case errors.As(err, &bad):
		return err
	case errors.Is(err, rechist.ErrInvalidArgument):
		return err
	case errors.Is(err, errNoSlot):
		return err
	case errors.Is(err, context.Canceled):
		// The client cancelled or went away: nobody reads the answer.
		return fmt.Errorf("%s was cancelled", name)
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return fmt.Errorf("%s took longer than %v and was stopped: narrow the pattern or the time range, or use aggregate with a wider bucket", name, t.cfg.queryTimeout)
	case errors.Is(err, rechist.ErrClosed):
		return errors.New("the history database is closed; the server is shutting down")
	}
	t.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "rechistmcp: tool failed", slog.String("tool", name), slog.Any("err", err))
	return fmt.Errorf("%s failed: %v", name, err)
}

// readOnly are the annotations of the tools that only read.
func readOnly(title string) *mcp.ToolAnnotations {
	f := false
	return &mcp.ToolAnnotations{Title: title, ReadOnlyHint: true, OpenWorldHint: &f}
}

// schema is a tool's input schema, written out so that it carries
// defaults, bounds and enums; additionalProperties is false, so a
// misspelt argument is a tool error rather than ignored.
func schema(properties string, required ...string) json.RawMessage {
	req, _ := json.Marshal(append([]string{}, required...))
	return json.RawMessage(`{"type":"object","additionalProperties":false,"properties":{` + properties + `},"required":` + string(req) + `}`)
}

// prop is one property of a schema.
func prop(name, typ, desc string, extra ...string) string {
	d, _ := json.Marshal(desc)
	s := fmt.Sprintf(`%q:{"type":%q,"description":%s`, name, typ, d)
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

func join(props ...string) string {
	s := ""
	for i, p := range props {
		if i > 0 {
			s += ","
		}
		s += p
	}
	return s
}

func patternProp(c config, required bool) string {
	d := "Which records. " + patternText(c)
	if !required {
		d += " Default: every record."
	}
	return prop("pattern", "string", d, `"minLength":1`)
}

func tzProp() string {
	return prop("tz", "string", "IANA time zone (Europe/Vienna, America/New_York, UTC) to print times in and to read local dates and times in; default: the server's zone.")
}

func limitProp(what string, def, max int) string {
	return prop("limit", "integer", fmt.Sprintf("At most this many %s (default %d, at most %d).", what, min(def, max), max),
		`"minimum":1`, fmt.Sprintf(`"maximum":%d`, max))
}

func rangeProps() string {
	return join(
		prop("start", "string", "Oldest time to include (inclusive): "+timeForms+". Default: no lower bound."),
		prop("end", "string", "Newest time to include (inclusive), in the same forms. Default: no upper bound."),
	)
}
