package server

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"sync/atomic"
)

// OriginSecretHeader carries the shared secret a CDN or Worker adds to
// every request it forwards.
const OriginSecretHeader = "X-Origin-Secret"

// OriginSecret refuses, before any other work, every request that does
// not carry the shared secret: whoever finds the origin's address cannot
// bypass the CDN in front of it (and its cache, and its rate limits).
// /healthz and /readyz stay open to health checks; they reveal nothing.
type OriginSecret struct {
	secret  []byte
	next    http.Handler
	log     *slog.Logger
	refused atomic.Int64
}

// NewOriginSecret wraps next.
func NewOriginSecret(secret string, next http.Handler, log *slog.Logger) *OriginSecret {
	return &OriginSecret{secret: []byte(secret), next: next, log: log}
}

func (o *OriginSecret) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; p == "/healthz" || p == "/readyz" {
		o.next.ServeHTTP(w, r)
		return
	}
	got := r.Header.Get(OriginSecretHeader)
	if subtle.ConstantTimeCompare([]byte(got), o.secret) != 1 {
		o.refused.Add(1)
		// Neither the expected nor the offered value is logged.
		o.log.Warn("refused: no valid origin secret", "remote", r.RemoteAddr, "method", r.Method,
			"path", r.URL.Path, "header_present", got != "")
		w.Header()["Cache-Control"] = noStore // about the client, not the URL
		writeFixed(w, http.StatusForbidden, "forbidden")
		return
	}
	// Nothing downstream needs it; keep it out of anything that echoes
	// request headers.
	r.Header.Del(OriginSecretHeader)
	o.next.ServeHTTP(w, r)
}

// Refused counts the requests refused for a missing or wrong secret.
func (o *OriginSecret) Refused() int64 { return o.refused.Load() }
