package rechistmcp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/seed178a96f3/rechist"
)

type storeIn struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
	At    string          `json:"at"`
	TZ    string          `json:"tz"`
}

type storeOut struct {
	Stored bool   `json:"stored" jsonschema:"true: the value is committed"`
	Name   string `json:"name"`
	At     string `json:"at" jsonschema:"the time it was stored under (RFC 3339, millisecond precision)"`
}

func storeTool(c config) *mcp.Tool {
	f := false
	return &mcp.Tool{
		Name: "store_value",
		Description: "Store one JSON value under a record name, stamped now or at a given time. " +
			"Only when the user asks to record something; a stored value stays in the history.",
		Annotations: &mcp.ToolAnnotations{Title: "Store a value", DestructiveHint: &f, OpenWorldHint: &f},
		InputSchema: schema(join(
			prop("name", "string", "The record's exact name (no wildcards), e.g. notes::vienna or sensors.temp.outdoor.", `"minLength":1`),
			`"value":{"description":"The value: any JSON (an object such as {\"celsius\":3.5}, a number, a string)."}`,
			prop("at", "string", "When it was measured: "+timeForms+". Default: now."),
			tzProp()), "name", "value"),
	}
}

func (t *tools) store(ctx context.Context, in storeIn) (storeOut, error) {
	if strings.TrimSpace(string(in.Value)) == "" {
		return storeOut{}, badf("value is missing")
	}
	loc, err := t.cfg.location(in.TZ)
	if err != nil {
		return storeOut{}, err
	}
	at := t.cfg.now()
	if in.At != "" {
		if at, err = timeArg("at", in.At, at, loc); err != nil {
			return storeOut{}, err
		}
	}
	at = at.Truncate(time.Millisecond)
	if err := rechist.NewRepo[json.RawMessage](t.db).StoreAt(ctx, in.Name, in.Value, at); err != nil {
		if ctx.Err() != nil {
			return storeOut{}, fmt.Errorf("not stored: %w", err)
		}
		return storeOut{}, err
	}
	return storeOut{Stored: true, Name: in.Name, At: fmtTime(at, loc)}, nil
}
