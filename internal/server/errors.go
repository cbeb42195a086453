package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
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
	switch {
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
	case isRateLimited(err):
		// Last: errors.As reflects, and its target escapes to the heap,
		// which every forged URL before it would pay for.
		return http.StatusTooManyRequests, "too many new images requested; retry shortly"
	}
	return http.StatusInternalServerError, "internal error"
}

func isRateLimited(err error) bool {
	var rl rateLimited
	return errors.As(err, &rl)
}

// retryAfter is how long a rate-limited client should wait. (In a function
// of its own, the errors.As target is allocated only for a 429.)
func retryAfter(err error) time.Duration {
	var rl rateLimited
	errors.As(err, &rl)
	return rl.retryAfter
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
	switch {
	case status == http.StatusTooManyRequests:
		hdr["Retry-After"] = []string{strconv.Itoa(int(math.Ceil(retryAfter(err).Seconds())))}
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
	if status == http.StatusBadRequest { // the message quotes the URL
		writeText(w, status, msg)
		return
	}
	writeFixed(w, status, msg)
}

// Header values of error responses, shared: never modified. A forged URL
// costs the server no more than it must.
var (
	noStore       = []string{"no-store"}
	retryAfterOne = []string{"1"}
	publicMinute  = []string{"public, max-age=60"}
	textPlain     = []string{"text/plain; charset=utf-8"}
)

// writeText answers msg as plain text.
func writeText(w http.ResponseWriter, status int, msg string) {
	writeBody(w, status, newText(msg))
}

// writeFixed is writeText for a message from a fixed set (a literal, not
// one quoting the request), whose response is made once and kept: refusing
// a forged URL allocates nothing of ours.
func writeFixed(w http.ResponseWriter, status int, msg string) {
	t, ok := fixedTexts.Load(msg)
	if !ok {
		t, _ = fixedTexts.LoadOrStore(msg, newText(msg))
	}
	writeBody(w, status, t.(*text))
}

// fixedTexts holds writeFixed's responses by message.
var fixedTexts sync.Map

// text is a plain-text response's body and its Content-Length value.
type text struct {
	body   []byte
	length []string
}

func newText(msg string) *text {
	return &text{body: []byte(msg + "\n"), length: []string{itoa(len(msg) + 1)}}
}

func writeBody(w http.ResponseWriter, status int, t *text) {
	h := w.Header()
	h["Content-Type"] = textPlain
	h["X-Content-Type-Options"] = nosniff
	h["Content-Length"] = t.length
	w.WriteHeader(status)
	w.Write(t.body)
}
