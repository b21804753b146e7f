package rechisthttp

import (
	"fmt"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/seed178a96f3/rechist"
)

// The guard runs before every route (API, stream, metrics, health, page)
// and stops what a web page on another site can make the user's browser
// send to a server on the user's machine:
//
//   - DNS rebinding: the page's own name, re-pointed at 127.0.0.1, reaches
//     the server as the same origin, so the browser lets it read answers.
//     The Host header still carries the page's name: without a token only
//     loopback names and the allowed hosts pass.
//   - Cross-site request forgery on a writable handler: a <form> or a
//     no-cors fetch sends a write without asking the server first. Writes
//     must come from the handler's own origin (or say none: curl, programs)
//     and a POST must be typed as JSON, which a page of another site cannot
//     send without a preflight this handler never answers.

// WithAllowedHosts adds names the handler answers to besides the loopback
// ones (localhost, 127.0.0.0/8, [::1]): a reverse proxy's name that is
// passed on as the Host, an alias in /etc/hosts. Each is a host name or IP
// address, optionally with ":port"; without a port any port matches. Names
// are compared without regard to case. "*" is refused: it would turn the
// DNS rebinding check off (use [WithToken] for a server reached by any
// name). Without a token, every request's Host must be a loopback name or
// one of these; with a token the Host is checked only when hosts are given.
// A write whose Origin is one of these names counts as same-origin.
//
// WithAllowedHosts panics on a name [ValidateAllowedHost] refuses: check
// names that come from users with it first.
func WithAllowedHosts(hosts ...string) Option {
	parsed := make([]hostPort, 0, len(hosts))
	for _, h := range hosts {
		hp, err := parseAllowedHost(h)
		if err != nil {
			panic("rechisthttp.WithAllowedHosts: " + err.Error())
		}
		parsed = append(parsed, hp)
	}
	return func(c *config) { c.allowedHosts = append(c.allowedHosts, parsed...) }
}

// ValidateAllowedHost says whether name can be given to
// [WithAllowedHosts]; its error wraps [rechist.ErrInvalidArgument].
func ValidateAllowedHost(name string) error {
	_, err := parseAllowedHost(name)
	return err
}

// hostPort is a Host header or an allowed host, normalised: the host in
// lower case, an IP address in its canonical form without brackets; port
// is "" when none was given.
type hostPort struct{ host, port string }

// splitHost reads "host", "host:port", "[v6]" or "[v6]:port" (a bare IPv6
// address too); ok is false when brackets do not match.
func splitHost(s string) (hp hostPort, ok bool) {
	host, port := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return hp, false
		}
		host, port = s[1:end], s[end+1:]
		if port != "" {
			if port[0] != ':' {
				return hp, false
			}
			port = port[1:]
		}
		if _, err := netip.ParseAddr(host); err != nil || !strings.Contains(host, ":") {
			return hp, false
		}
	case strings.Count(s, ":") == 1:
		host, port, _ = strings.Cut(s, ":")
	}
	host = strings.ToLower(host)
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.String()
	}
	return hostPort{host, port}, true
}

// parseAllowedHost validates and normalises one allowed host.
func parseAllowedHost(name string) (hostPort, error) {
	bad := func(why string) (hostPort, error) {
		return hostPort{}, fmt.Errorf("%w: allowed host %q %s", rechist.ErrInvalidArgument, name, why)
	}
	switch {
	case name == "":
		return bad("is empty")
	case name == "*":
		return bad(`would allow every name and turn the DNS rebinding check off: give the names, or use a token`)
	case strings.Contains(name, "://") || strings.ContainsAny(name, "/?#@ "):
		return bad("is not a host name or host:port (no scheme, path or spaces)")
	}
	hp, ok := splitHost(name)
	if !ok {
		return bad("is not a host name or host:port (brackets around IPv6 addresses)")
	}
	if hp.port != "" || strings.HasSuffix(name, ":") {
		n, err := strconv.Atoi(hp.port)
		if err != nil || n < 1 || n > 65535 || hp.port[0] == '0' {
			return bad("has a port that is not a number from 1 to 65535")
		}
	}
	if _, err := netip.ParseAddr(hp.host); err == nil {
		return hp, nil
	}
	if err := checkHostName(hp.host); err != "" {
		return bad(err)
	}
	return hp, nil
}

// checkHostName says what is wrong with a DNS name, or "".
func checkHostName(s string) string {
	if len(s) > 253 {
		return "is longer than 253 characters"
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "has an empty label or one longer than 63 characters"
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "has a label that begins or ends with '-'"
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Sprintf("holds %q: a host name has letters, digits, '-', '_' and dots", c)
			}
		}
	}
	if _, err := strconv.Atoi(labels[len(labels)-1]); err == nil {
		return "ends in a number but is not an IP address"
	}
	return ""
}

// loopbackName says whether host (normalised) can only be this machine:
// a browser sends such a Host only for a page it loaded from this machine.
func loopbackName(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// allowed says whether hp matches one of the allowed hosts.
func (c *config) allowed(hp hostPort) bool {
	for _, a := range c.allowedHosts {
		if a.host == hp.host && (a.port == "" || a.port == hp.port) {
			return true
		}
	}
	return false
}

// jsonTypes are the request types a write may have: a page of another
// site cannot send them without a CORS preflight.
var jsonTypes = map[string]bool{"application/json": true, "application/x-ndjson": true, "application/jsonl": true}

// crossOrigin is the standard library's check of Sec-Fetch-Site and Origin
// against Host; it holds no trusted origins (allowed hosts are checked
// before it) and is safe for concurrent use.
var crossOrigin = http.NewCrossOriginProtection()

// guard refuses, before next runs, a Host the handler does not answer to
// and, on a writable handler, a write from another origin or not typed as
// JSON. A read-only handler refuses every write itself, saying so.
func (h *Handler) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.check(r); err != nil {
			if err.code == http.StatusUnsupportedMediaType {
				w.Header().Set("Accept-Post", "application/x-ndjson, application/jsonl, application/json")
			}
			writeError(w, err.code, err.msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// guardRead is guard for an endpoint that only reads whatever its
// method (the Prometheus API's POST): the Host is checked, not a write's
// origin and type, since a page of another site can send the request but
// not read its answer.
func (h *Handler) guardRead(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.checkHost(r); err != nil {
			writeError(w, err.code, err.msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkHost is the guard's verdict on r's Host: nil, or the refusal.
func (h *Handler) checkHost(r *http.Request) *statusError {
	if h.cfg.token == "" || len(h.cfg.allowedHosts) > 0 {
		hp, ok := splitHost(r.Host)
		if r.Host == "" || !ok || !loopbackName(hp.host) && !h.cfg.allowed(hp) {
			or := ""
			if h.cfg.token == "" {
				or = ", or require a token (--token)"
			}
			return &statusError{http.StatusForbidden, fmt.Sprintf("Host %q is not a loopback name (localhost, 127.0.0.1, [::1]) "+
				"nor an allowed host: refused against DNS rebinding. Use a loopback name, allow this one "+
				"(rechist serve --allowed-host NAME; WithAllowedHosts)%s", r.Host, or)}
		}
	}
	return nil
}

// check is the guard's verdict on r: nil, or the refusal.
func (h *Handler) check(r *http.Request) *statusError {
	if err := h.checkHost(r); err != nil {
		return err
	}
	if !h.cfg.writable {
		return nil
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if !h.ownOrigin(r) {
		return &statusError{http.StatusForbidden, fmt.Sprintf("a %s from another origin (Origin %q, Sec-Fetch-Site %q) is refused "+
			"against cross-site request forgery: write from this server's own page, or from a client that sends no Origin "+
			"(curl, a program), or allow the origin's name (rechist serve --allowed-host NAME)",
			r.Method, r.Header.Get("Origin"), r.Header.Get("Sec-Fetch-Site"))}
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		ct := r.Header.Get("Content-Type")
		if mt, _, err := mime.ParseMediaType(ct); err != nil || !jsonTypes[mt] {
			return &statusError{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q is not accepted: send "+
				"application/x-ndjson, application/jsonl or application/json (curl: -H 'Content-Type: application/x-ndjson'); "+
				"the types a page of another site can send unasked (forms, text/plain) are refused", ct)}
		}
	}
	return nil
}

// ownOrigin says whether a write comes from the handler's own origin: an
// Origin naming an allowed host, or what the standard library's
// cross-origin check lets through (Sec-Fetch-Site same-origin or none; an
// Origin whose host:port is the Host; no Origin, as from curl). The scheme
// is not compared: behind a TLS proxy the handler cannot know it.
func (h *Handler) ownOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && len(h.cfg.allowedHosts) > 0 {
		if u, err := url.Parse(o); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			if hp, ok := splitHost(u.Host); ok && h.cfg.allowed(hp) {
				return true
			}
		}
	}
	return crossOrigin.Check(r) == nil
}

// ownSite says whether r comes from no other site's page, whatever its
// method (a WebSocket's upgrade, an MCP call): no Origin (a program),
// Sec-Fetch-Site same-origin or none, an Origin whose host:port is the
// Host, or one naming an allowed host.
func (h *Handler) ownSite(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	if got, ok := splitHost(u.Host); ok {
		if want, ok := splitHost(r.Host); ok && got == want {
			return true
		}
		return h.cfg.allowed(got)
	}
	return false
}
