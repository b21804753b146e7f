// Package rechistmcp gives an assistant the history: a Model Context
// Protocol server (built on the official Go SDK,
// github.com/modelcontextprotocol/go-sdk) whose tools read a
// [rechist.DB]. It answers questions such as "how did the temperature in
// Vienna change this week, and when did the sensor stop reporting" with
// calls an assistant can plan from the tools' descriptions and JSON
// schemas alone.
//
// AimDB planned such a tool ("mcp_aimdb_query_history", design 022 of
// aimdb-dev/aimdb) and never built it; its MCP server reads only in-memory
// buffers. This package is that tool for rechist's persisted history.
//
// # Tools
//
//   - list_records: the records a pattern matches, with their row counts,
//     first and last times and how long each has been silent.
//   - latest_values: the newest value(s) of each matching record.
//   - query_history: raw rows in a time range, at most limit (the newest
//     by default), with the total the range holds and a note when cut.
//   - aggregate: count, min, mean, max, first and last of a numeric field
//     per time bucket ([rechist.DB.Aggregate]: inside the database, from
//     rollup tiers where raw rows have expired), aligned to a zone's wall
//     clock on request.
//   - stale_records: the records whose newest row is older than a given
//     age: what stopped reporting, and since when.
//   - store_value, only with [Writable]: store one value.
//
// Every tool reads a pattern in the DB's language ([TopicPatterns] when it
// was opened with [rechist.WithTopicPatterns]) and times as the command
// line does: RFC 3339, a local date and time, Unix milliseconds, or a
// duration back from now ("7d"). Times come back in RFC 3339 with their
// zone (the call's "tz", else [WithLocation], else UTC).
//
// # Limits
//
// Results are sized for a model's context: each tool has a small default
// limit, a hard maximum ([WithMaxRows], [WithMaxBuckets]), says the total
// and sets "truncated" with a note when it shows less; values longer than
// [WithMaxValueBytes] come as a preview, and rows, values, records and
// buckets stop at [WithMaxResultBytes] of JSON a result. query_history
// holds at most limit rows while it reads, each value clipped to what a
// result shows. Every call runs within [WithQueryTimeout], at most
// [WithMaxConcurrentCalls] at once.
//
// Costs: list_records, aggregate and query_history read
// [rechist.DB.Records], a row a record, except on a file opened read-only
// that predates the names table (an old rechist file, or one of the Rust
// crate's), where it counts each matching record's rows from the index.
// stale_records counts nothing: it reads each record's newest and oldest
// row. query_history counts a range that cuts through a record's history
// row by row, up to 100,000.
//
// # Errors
//
// A bad argument (a malformed time, an unknown zone, a limit out of range,
// an argument the schema lacks) and a failed query answer a tool result
// with isError set and a message that says what to change: the assistant
// reads it and tries again. Only protocol faults (an unknown tool) are
// JSON-RPC errors.
//
// # Serving
//
// [NewServer] returns the server to run on a transport: `rechist mcp`
// runs it over standard input and output for an assistant that starts it
// as a subprocess. [Handler] serves it over the streamable HTTP transport;
// `rechist serve` mounts it at /mcp behind its token and Host checks.
// The server only reads unless [Writable]: open the DB with
// [rechist.WithReadOnly] and it never changes the file.
package rechistmcp
