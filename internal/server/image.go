package server

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/transform"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// serveImage runs the request flow of the README's "What a request does".
// Nothing touches the cache, disk or origin before the URL is canonical,
// signed and current.
func (h *Handler) serveImage(ctx context.Context, st *scratch, r *http.Request) {
	w, info, u, opts := &st.rec, &st.info, &st.url, &st.opts
	// Canonical means values too (no "w=0100"), so parameters are checked
	// with the rest of the form, before the signature: all of it is CPU on
	// the client's own bytes.
	now := h.cfg.Now() // one clock read for the expiry and the header
	err := urlsig.ParseInto(requestTarget(r), u)
	if err == nil {
		info.key = u.Key
		*opts, err = params.Parse(u.Params, h.cfg.Limits)
	}
	if err == nil {
		err = h.cfg.Ring.Verify(u)
	}
	if err == nil {
		err = u.CheckExpiry(now)
	}
	if err != nil {
		h.fail(w, r, info, err)
		return
	}
	format := opts.Negotiate(r.Header.Get("Accept"))
	key := params.CacheKey(u.ToSign, format)

	hdr := w.Header()
	if opts.AutoFormat {
		hdr["Vary"] = varyAccept
	}
	policy := &h.cc
	if opts.Version == "" {
		policy = &h.ccBare
	}
	cc := policy.header(opts.Expires, now)

	// Hits first: they need no deadline, no flight and no rate limit.
	e, tier, hit := h.cache.Lookup(u.Key, key)
	if !hit {
		if h.cfg.Limiter != nil {
			if ok, wait := h.cfg.Limiter.AllowMiss(r); !ok {
				h.fail(w, r, info, rateLimited{wait})
				return
			}
		}
		if h.cfg.Timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, h.cfg.Timeout)
			defer cancel()
		}
		// The fill may outlive this request (another one waits on it), and
		// the scratch goes back to the pool when this one ends.
		objectKey, o := u.Key, *opts
		e, tier, err = h.cache.Get(ctx, objectKey, key, func(ctx context.Context) (*cache.Entry, error) {
			return h.render(ctx, objectKey, key, &o, format)
		})
	}
	info.tier = string(tier)
	if err != nil {
		h.fail(w, r, info, err)
		return
	}
	ev := e.Headers()
	// If-None-Match is answered from the entry, whose ETag changes with
	// the original: a revalidating client or CDN gets the new bytes after
	// the original changed and was purged. "*" matches only a response
	// that exists, so a missing original is still the 404 above.
	if inm := r.Header.Get("If-None-Match"); inm != "" && ev.ETag != nil && etagMatch(inm, ev.ETag[0]) {
		hdr["Etag"] = ev.ETag
		hdr["Cache-Control"] = cc
		hdr["X-Cache"] = xCache[tier]
		w.WriteHeader(http.StatusNotModified)
		e.Release()
		return
	}
	hdr["Content-Type"] = ev.ContentType
	hdr["Content-Length"] = ev.ContentLength
	if ev.ETag != nil {
		hdr["Etag"] = ev.ETag
	}
	hdr["Cache-Control"] = cc
	if ev.LastModified != nil {
		hdr["Last-Modified"] = ev.LastModified
	}
	hdr["X-Content-Type-Options"] = nosniff
	hdr["X-Cache"] = xCache[tier]
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		e.WriteBody(w)
	}
	e.Release() // net/http holds no reference to the body once the write returns
}

// Header values shared by every response: never modified.
var (
	varyAccept = []string{"Accept"}
	nosniff    = []string{"nosniff"}
	xCache     = map[cache.Tier][]string{
		cache.TierMemory: {string(cache.TierMemory)},
		cache.TierDisk:   {string(cache.TierDisk)},
		cache.TierShared: {string(cache.TierShared)},
		cache.TierMiss:   {string(cache.TierMiss)},
	}
)

// render fetches the original and produces the variant: the original
// without its metadata when the URL asks for no transform, else a
// transform of it.
func (h *Handler) render(ctx context.Context, objectKey string, key params.Key, o *params.Options, f params.Format) (*cache.Entry, error) {
	if o.Transform {
		// A transform of an original refused moments ago would be refused
		// again, after paying for the fetch and the check or decode. (An
		// original without parameters is only checked, not decoded: it
		// may be served where a transform of it is not.)
		if err := h.bad.check(objectKey); err != nil {
			return nil, err
		}
		// Under overload the transform would be refused after the origin's
		// bytes were paid for, and held in memory while queueing.
		if err := h.tr.CheckCapacity(); err != nil {
			return nil, err
		}
	}
	e, err := h.produce(ctx, objectKey, o, f)
	h.bad.note(objectKey, err)
	if err == nil {
		e.ETag = etagOf(key, e)
	}
	return e, err
}

// produce is render's work: the fetch, then the transform or the original.
func (h *Handler) produce(ctx context.Context, objectKey string, o *params.Options, f params.Format) (*cache.Entry, error) {
	obj, err := h.origin.Fetch(ctx, objectKey)
	if err != nil {
		return nil, err
	}
	e := &cache.Entry{LastModified: obj.LastModified, OriginETag: obj.ETag, ObjectKey: objectKey, Created: time.Now()}
	var out transform.Output
	if o.Transform {
		out, err = h.tr.Transform(ctx, obj.Body, o, f)
	} else {
		out, err = h.tr.Original(ctx, obj.Body)
	}
	if err != nil {
		return nil, err
	}
	e.Body, e.ContentType = out.Body, out.Format.ContentType()
	return e, nil
}

// requestTarget is the path and query exactly as the client sent them:
// the canonical check needs the raw bytes, not Go's decoded URL.
func requestTarget(r *http.Request) string {
	return r.RequestURI
}

// etagOf derives a strong ETag from the variant's cache key and the
// identity of the original it was made from (its origin ETag and
// Last-Modified; its bytes when the origin gave neither): the same variant
// of the same original has the same ETag on every server and after a
// restart, and a changed original gives a new one.
func etagOf(k params.Key, e *cache.Entry) string {
	h := sha256.New()
	h.Write(k[:])
	h.Write([]byte(e.OriginETag))
	var lm [9]byte
	if !e.LastModified.IsZero() {
		binary.BigEndian.PutUint64(lm[1:], uint64(e.LastModified.UnixNano()))
	}
	h.Write(lm[:])
	if e.OriginETag == "" && e.LastModified.IsZero() {
		h.Write(e.Body)
	}
	var sum [sha256.Size]byte
	var b [34]byte
	b[0], b[33] = '"', '"'
	hex.Encode(b[1:33], h.Sum(sum[:0])[:16])
	return string(b[:])
}

// etagMatch implements If-None-Match's weak comparison against one ETag.
func etagMatch(header, etag string) bool {
	for header != "" {
		var tag string
		tag, header = nextToken(header)
		if tag == "*" || tag == etag || len(tag) > 2 && tag[:2] == "W/" && tag[2:] == etag {
			return true
		}
	}
	return false
}

// nextToken splits a comma-separated list, trimming spaces.
func nextToken(s string) (tok, rest string) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',') {
		i++
	}
	j := i
	for j < len(s) && s[j] != ',' {
		j++
	}
	tok = s[i:j]
	for len(tok) > 0 && (tok[len(tok)-1] == ' ' || tok[len(tok)-1] == '\t') {
		tok = tok[:len(tok)-1]
	}
	return tok, s[j:]
}
