// Package rechisthttp serves a rechist database over HTTP: a JSON API in
// the shape of AimX's record.query, a live stream of new rows as
// Server-Sent Events, Prometheus metrics and a dashboard page with charts.
//
//	db, err := rechist.Open(ctx, "./data/history.db", rechist.WithReadOnly())
//	...
//	mux.Handle("/history/", http.StripPrefix("/history", rechisthttp.NewHandler(db)))
//
// The handler works under any prefix: the page uses relative URLs. It
// reads only, unless [Writable] is given; with [WithToken] every /api/ and
// /metrics request needs the token. Without a token it answers only to
// loopback Host names and [WithAllowedHosts] (against DNS rebinding); a
// write must be typed as JSON and come from no other origin (against
// cross-site request forgery). The command `rechist serve` wraps it in a
// server with timeouts and graceful shutdown.
//
// # API
//
// Times are Unix milliseconds; start and end are both inclusive and either
// may be left out. pattern defaults to "*" ("#" with [TopicPatterns]).
//
//	GET    /api/query?pattern&limit&start&end    {"records":[{"topic","payload","ts"}],"total":N}
//	GET    /api/records?pattern                  [{"name","rows","first","last"}]
//	GET    /api/aggregate?pattern&field&every&start&end
//	                                             [{"name","buckets":[{"start","count","min","max","mean","sum","first","last"}]}]
//	GET    /api/export?format=csv|jsonl&pattern&start&end
//	GET    /api/stream?pattern                   Server-Sent Events (event: record)
//	POST   /api/ingest                           JSON Lines; only with [Writable]
//	DELETE /api/records?pattern&start&end        {"deleted":N}; only with [Writable]
//	GET    /api/sync?source                      {"source","cursor","sent","missed","updated_ms","hash","epoch"}
//	POST   /api/sync                             a sync push ([SyncClient]); only with [Writable]
//	GET    /aimx?v=3.0                           AimX 3.0 over a WebSocket (docs/aimx.md); [Handler.ServeAIMX] serves it on a socket
//	POST   /mcp                                  the MCP server of package rechistmcp, streamable HTTP (docs/mcp.md)
//	GET    /healthz, /metrics, /
//
// /api/query's limit is per record, 1 by default, 0 for no limit; its rows
// come sorted by ts, then name, then insert order, and stream: the answer
// is never built in memory (see docs/serve.md for how).
//
// Errors are JSON {"error": "..."}: 400 for a bad parameter (and for what
// the library refuses with [rechist.ErrInvalidArgument]), 401 without the
// token, 403 for writes to a read-only handler, a Host it does not answer
// to or a write from another origin, 415 for a POST not typed as JSON,
// 404, 405, 413 past [WithMaxBodyBytes], 503 while the database closes or
// stays busy, when a request's database work outlasts [WithQueryTimeout],
// or when [WithMaxConcurrentQueries] heavy requests keep it waiting that
// long (with Retry-After), 500 otherwise.
package rechisthttp
