package rechisthttp

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed web
var webFS embed.FS

// csp keeps the page to its own files: no inline script, no other origin.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var pageFiles = map[string]string{
	"/":          "web/index.html",
	"/app.js":    "web/app.js",
	"/style.css": "web/style.css",
}

var pageTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// servePage serves the dashboard's three files; any other path is a JSON
// 404.
func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "" {
		// Mounted with http.StripPrefix("/p", ...) and asked for "/p": the
		// page's relative URLs need the slash.
		path, _, _ := strings.Cut(r.RequestURI, "?")
		http.Redirect(w, r, path+"/", http.StatusMovedPermanently)
		return
	}
	name, ok := pageFiles[r.URL.Path]
	if !ok {
		writeError(w, http.StatusNotFound, "no such page: "+r.URL.Path)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed")
		return
	}
	b, err := fs.ReadFile(webFS, name)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", pageTypes[name[strings.LastIndexByte(name, '.'):]])
	w.Header().Set("Content-Security-Policy", csp)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}
