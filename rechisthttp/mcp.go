package rechisthttp

import (
	"net/http"

	"github.com/seed178a96f3/rechist/rechistmcp"
)

// mountMCP serves the MCP server (package rechistmcp: tools that list,
// read and aggregate the history for an assistant) at /mcp over
// streamable HTTP, behind the handler's own rules: the Host check against
// DNS rebinding (the SDK's is switched off for it), the token, and no
// request from another site's page, whatever its method (a tool call is
// a POST, which a page could send but should not: with --writable one
// stores). Each tool call is bounded by the query timeout inside the MCP
// server; the handler's own limit on concurrent queries does not apply.
func (h *Handler) mountMCP() {
	opts := []rechistmcp.Option{
		rechistmcp.WithoutLocalhostProtection(),
		rechistmcp.WithQueryTimeout(h.cfg.queryTimeout),
		rechistmcp.WithLogger(h.cfg.logger),
	}
	if h.cfg.writable {
		opts = append(opts, rechistmcp.Writable())
	}
	if h.cfg.topics {
		opts = append(opts, rechistmcp.TopicPatterns())
	}
	mcp := rechistmcp.Handler(h.db, opts...)
	h.mux.Handle("/mcp", h.count("/mcp", h.guardRead(h.auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.ownSite(r) {
			writeError(w, http.StatusForbidden, "a request to /mcp from another site's page is refused")
			return
		}
		mcp.ServeHTTP(w, r)
	})))))
}
