package server

import (
	"errors"
	"net/http"
	"strings"
)

// errOutsidePrefix is logged for a request outside Config.PathPrefix.
var errOutsidePrefix = errors.New("not under server.path_prefix")

// withinPrefix returns r with Config.PathPrefix cut from its request
// target, as the signature never covers it: https://example.com/img/a.jpg
// was signed as /a.jpg. A request outside the prefix is answered 404 here
// and nil returned. The prefix is compared byte for byte, as the canonical
// check compares the rest.
func (h *Handler) withinPrefix(w *recorder, r *http.Request, info *requestInfo) *http.Request {
	p := h.cfg.PathPrefix
	if p == "" {
		return r
	}
	rest, ok := strings.CutPrefix(r.RequestURI, p)
	if !ok || !strings.HasPrefix(rest, "/") {
		info.err = errOutsidePrefix
		w.Header()["Cache-Control"] = publicMinute
		writeFixed(w, http.StatusNotFound, "not found: outside the path prefix")
		return nil
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.RequestURI = rest
	return r2
}
