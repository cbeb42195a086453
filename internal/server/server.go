// Package server is the HTTP face of imgproxy: it verifies signed URLs,
// answers from the cache or fills it from the origin through the
// transformer, and maps every error kind to one status code and a short
// public message. It depends on small interfaces it declares itself, so it
// builds and tests without cgo.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/transform"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// Origin fetches originals.
type Origin interface {
	Fetch(ctx context.Context, key string) (*origin.Object, error)
}

// Transformer resizes and re-encodes.
type Transformer interface {
	Transform(ctx context.Context, src []byte, o *params.Options, f params.Format) (transform.Output, error)
	// Original is src as served without parameters: metadata removed.
	Original(ctx context.Context, src []byte) (transform.Output, error)
	// CheckCapacity fails when a transform asked for now would be refused.
	CheckCapacity() error
}

// Cache answers from stored responses or fills them once per key.
type Cache interface {
	Get(ctx context.Context, objectKey string, key params.Key, fill cache.Fill) (*cache.Entry, cache.Tier, error)
	Lookup(objectKey string, key params.Key) (*cache.Entry, cache.Tier, bool)
}

// MissLimiter rate-limits the requests that would cause new work.
type MissLimiter interface {
	AllowMiss(r *http.Request) (ok bool, retryAfter time.Duration)
}

// Config is the server's policy.
type Config struct {
	Ring         *urlsig.KeyRing
	Limits       params.Limits
	CacheControl string // for images; max-age is capped by exp and MaxAge
	// CacheControlUnversioned is for images whose URL has no v: their
	// original may change under the same URL, so CDNs should check back
	// sooner. "" means CacheControl.
	CacheControlUnversioned string
	Timeout                 time.Duration // whole-request deadline, reaching origin and queue
	Logger                  *slog.Logger
	// AccessLog takes the one line per request (through a LogWriter, in
	// serve); nil means Logger.
	AccessLog *slog.Logger
	// Ready reports whether the cache directory is writable; nil means
	// always. Its error is logged; the 503 says "cache directory not
	// writable".
	Ready func() error
	// ReadyChecks are more conditions of /readyz, each named in the body
	// of the 503 it causes (e.g. "origin failing").
	ReadyChecks []ReadyCheck
	// MaxAge is how long the cache tiers keep a variant (cache.max_age; 0:
	// forever); a CDN or browser is told to keep it no longer.
	MaxAge time.Duration
	// Now is the clock for expiry; nil means time.Now.
	Now func() time.Time
	// Limiter, when set, limits cache misses per client; hits are never
	// limited.
	Limiter MissLimiter
	// BadOriginalTTL is how long an original refused for what it is
	// (damaged, too large, not an image) is refused without being fetched
	// again; 0 turns the memory off.
	BadOriginalTTL time.Duration
	// Observe, when set, is told the status, cache tier ("" when no lookup
	// happened) and duration of every request (for metrics).
	Observe func(status int, tier string, d time.Duration)
	// PathPrefix is cut from every image request before it is verified
	// (server.path_prefix, like "/img"); "" for none.
	PathPrefix string
}

// Handler serves signed image URLs, /healthz and /readyz.
type Handler struct {
	cfg    Config
	origin Origin
	tr     Transformer
	cache  Cache
	cc     cacheControl // URLs with v (content-addressed)
	ccBare cacheControl // URLs without v
	bad    *badOriginals
	ready  readiness
}

// New returns the handler.
func New(cfg Config, o Origin, tr Transformer, c Cache) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.AccessLog == nil {
		cfg.AccessLog = cfg.Logger
	}
	if cfg.CacheControlUnversioned == "" {
		cfg.CacheControlUnversioned = cfg.CacheControl
	}
	return &Handler{cfg: cfg, origin: o, tr: tr, cache: c,
		cc:     parseCacheControl(capMaxAge(cfg.CacheControl, cfg.MaxAge)),
		ccBare: parseCacheControl(capMaxAge(cfg.CacheControlUnversioned, cfg.MaxAge)),
		bad:    newBadOriginals(cfg.BadOriginalTTL)}
}

// Forget drops what the handler remembers about an original (purge: it
// was replaced).
func (h *Handler) Forget(objectKey string) { h.bad.forget(objectKey) }

// maxURI bounds the request target; longer ones are 414.
const maxURI = 8 << 10

// scratch is what one request needs in memory, reused across requests
// (scratches) so that a hit allocates nothing of its own. Nothing in it
// may be kept past the request: what a background fill needs is copied.
type scratch struct {
	rec  recorder
	info requestInfo
	url  urlsig.URL
	opts params.Options
}

var scratches = sync.Pool{New: func() any { return new(scratch) }}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	st := scratches.Get().(*scratch)
	st.rec = recorder{ResponseWriter: w, status: http.StatusOK}
	st.info = requestInfo{}
	rec, info, orig := &st.rec, &st.info, r // r may be replaced below
	defer func() {
		h.logRequest(orig, rec, info, start)
		st.rec.ResponseWriter = nil // no reference to a finished response
		scratches.Put(st)
	}()

	switch r.URL.Path {
	case "/healthz", "/readyz":
		h.probe(rec, r, info)
		return
	}
	if r = h.withinPrefix(rec, r, info); r == nil {
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		rec.Header().Set("Allow", "GET, HEAD")
		h.fail(rec, r, info, errMethod)
		return
	}
	if len(r.RequestURI) > maxURI {
		h.fail(rec, r, info, errURITooLong)
		return
	}
	h.serveImage(r.Context(), st, r)
}
