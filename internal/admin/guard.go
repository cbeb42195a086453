package admin

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// guard refuses what a web page in the operator's browser could send to
// the admin listener. Without it, a page on any site can POST a form to
// /purge (the browser sends it and ignores the answer), and with DNS
// rebinding (the attacker's name resolving to 127.0.0.1) read /metrics and
// pprof as if it were its own site. The operator's tools (the CLI,
// Prometheus, curl) send neither Origin nor Sec-Fetch-Site, and name the
// listener by an address or its configured name, so they pass.
type guard struct {
	next http.Handler
	name string // the host name in the configured address, lower case; "" for none
	log  *slog.Logger
}

func newGuard(next http.Handler, listen string, log *slog.Logger) *guard {
	host, _, _ := net.SplitHostPort(listen)
	return &guard{next: next, name: normalHost(host), log: log}
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !g.hostAllowed(r.Host) {
		g.refuse(w, r, "forbidden: the Host header does not name this listener")
		return
	}
	// Browsers send Origin on every cross-origin request but simple GETs,
	// and Sec-Fetch-Site on every request; tools send neither.
	if o := r.Header.Get("Origin"); o != "" && !strings.EqualFold(o, "http://"+r.Host) && !strings.EqualFold(o, "https://"+r.Host) {
		g.refuse(w, r, "forbidden: cross-origin request")
		return
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		g.refuse(w, r, "forbidden: cross-site request")
		return
	}
	g.next.ServeHTTP(w, r)
}

// hostAllowed accepts an IP address, localhost or the configured name, on
// any port: DNS rebinding works only through a name the attacker owns, and
// a container's published port may differ from the one listened on.
func (g *guard) hostAllowed(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil { // no port
		host = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
	}
	host = normalHost(host)
	if host == "" {
		return false
	}
	if host == "localhost" || host == g.name {
		return true
	}
	_, err = netip.ParseAddr(host)
	return err == nil
}

func (g *guard) refuse(w http.ResponseWriter, r *http.Request, msg string) {
	g.log.Warn("admin request refused", "reason", msg, "method", r.Method, "path", r.URL.Path,
		"host", r.Host, "origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"),
		"remote", r.RemoteAddr)
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, http.StatusForbidden)
}

// normalHost lower-cases a host name and drops the root's trailing dot
// ("localhost." is localhost).
func normalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// Wildcard reports whether a listen address binds every interface: an
// empty host (":9090") or an unspecified address (0.0.0.0, [::]).
func Wildcard(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsUnspecified()
}
