package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/transform"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

var (
	errMethod     = errors.New("method not allowed")
	errURITooLong = errors.New("URL too long")
)

// rateLimited is a miss refused by the per-client limit.
type rateLimited struct{ retryAfter time.Duration }

func (e rateLimited) Error() string {
	return fmt.Sprintf("too many misses from this client; retry in %s", e.retryAfter.Round(time.Millisecond))
}

// statusClientGone is logged (never sent) when the client left first.
const statusClientGone = 499

// classify is the one place that knows HTTP: it maps an error kind to a
// status and the short message a client may see. Only messages about the
// client's own URL carry details; nothing about the origin, bucket,
// endpoint or internals ever does.
func classify(err error) (status int, public string) {
	var rl rateLimited
	switch {
	case errors.As(err, &rl):
		return http.StatusTooManyRequests, "too many new images requested; retry shortly"
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed, "only GET and HEAD"
	case errors.Is(err, errURITooLong):
		return http.StatusRequestURITooLong, "URL too long"
	case errors.Is(err, urlsig.ErrNotCanonical), errors.Is(err, params.ErrInvalid):
		return http.StatusBadRequest, oneLine(err.Error())
	case errors.Is(err, urlsig.ErrNoSignature):
		return http.StatusForbidden, "missing signature"
	case errors.Is(err, urlsig.ErrBadSignature):
		return http.StatusForbidden, "bad signature"
	case errors.Is(err, urlsig.ErrExpired):
		return http.StatusGone, "URL expired"
	case errors.Is(err, origin.ErrNotFound):
		return http.StatusNotFound, "original not found"
	case errors.Is(err, origin.ErrTooLarge), errors.Is(err, transform.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "image too large"
	case errors.Is(err, transform.ErrUnsupported):
		return http.StatusUnsupportedMediaType, "not a supported image"
	case errors.Is(err, transform.ErrCorrupt):
		return http.StatusUnprocessableEntity, "image is truncated or corrupt"
	case errors.Is(err, transform.ErrOverloaded):
		return http.StatusServiceUnavailable, "overloaded, retry shortly"
	case errors.Is(err, origin.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "timed out"
	case errors.Is(err, origin.ErrFailed):
		return http.StatusBadGateway, "origin failed"
	case errors.Is(err, context.Canceled):
		return statusClientGone, ""
	}
	return http.StatusInternalServerError, "internal error"
}

// oneLine keeps a joined multi-error on one line of the response body.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }

// fail answers err and records it for the request log.
func (h *Handler) fail(w *recorder, r *http.Request, info *requestInfo, err error) {
	info.err = err
	status, msg := classify(err)
	if status == statusClientGone {
		w.status = status // nobody is listening; just log it
		return
	}
	hdr := w.Header()
	delete(hdr, "Vary")
	var rl rateLimited
	switch {
	case status == http.StatusTooManyRequests && errors.As(err, &rl):
		hdr["Retry-After"] = []string{strconv.Itoa(int(math.Ceil(rl.retryAfter.Seconds())))}
		hdr["Cache-Control"] = noStore // it is about this client, not the URL
	case status == http.StatusServiceUnavailable:
		hdr["Retry-After"] = retryAfterOne
		hdr["Cache-Control"] = noStore
	case status >= 500:
		hdr["Cache-Control"] = noStore
	default:
		// A short public lifetime lets a CDN absorb repeats of a bad or
		// missing URL without pinning a mistake for long.
		hdr["Cache-Control"] = publicMinute
	}
	writeText(w, status, msg)
}

// Header values of error responses, shared: never modified. A forged URL
// costs the server no more than it must.
var (
	noStore       = []string{"no-store"}
	retryAfterOne = []string{"1"}
	publicMinute  = []string{"public, max-age=60"}
	textPlain     = []string{"text/plain; charset=utf-8"}
)

func writeText(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h["Content-Type"] = textPlain
	h["X-Content-Type-Options"] = nosniff
	h["Content-Length"] = []string{itoa(len(msg) + 1)}
	w.WriteHeader(status)
	w.Write([]byte(msg + "\n"))
}
