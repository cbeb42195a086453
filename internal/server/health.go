package server

import (
	"net/http"
	"strings"
	"sync"
)

// ReadyCheck is one condition of /readyz. Name is public, the reason in
// the body of the 503 it causes; Err's error, which may name paths or
// internals, is only logged.
type ReadyCheck struct {
	Name string
	Err  func() error
	// Degraded, when set, makes a failure detail only: it is named in the
	// body ("ready (degraded: shared cache tier failing)") and the server
	// stays ready. For what the server does without (the shared tier).
	Degraded bool
}

// readiness remembers the last answer of /readyz, so that a probe every few
// seconds logs when readiness changes rather than once per probe.
type readiness struct {
	mu       sync.Mutex
	reason   string // "" when ready
	degraded string // the failing checks that only degrade, "" when none
}

// probe answers /healthz (the process is alive) and /readyz (it can serve).
// Probes are not image requests: they are kept out of the request metrics,
// and logged only at debug level (one line every few seconds per prober
// would bury the requests).
func (h *Handler) probe(w *recorder, r *http.Request, info *requestInfo) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.fail(w, r, info, errMethod)
		return
	}
	info.probe = true
	w.Header()["Cache-Control"] = noStore
	if r.URL.Path == "/healthz" {
		writeText(w, http.StatusOK, "ok")
		return
	}
	reason, degraded := h.notReady()
	if degraded != "" {
		degraded = " (degraded: " + degraded + ")"
	}
	if reason != "" {
		writeText(w, http.StatusServiceUnavailable, "not ready: "+reason+degraded)
		return
	}
	writeText(w, http.StatusOK, "ready"+degraded)
}

// notReady runs every check and returns the public reasons it fails, ""
// when ready, and those of the failing checks that only degrade it. A
// change is logged, with the errors.
func (h *Handler) notReady() (string, string) {
	var reasons, degraded []string
	var errs []any
	if h.cfg.Ready != nil {
		if err := h.cfg.Ready(); err != nil {
			reasons = append(reasons, "cache directory not writable")
			errs = append(errs, "err", err)
		}
	}
	for _, c := range h.cfg.ReadyChecks {
		if err := c.Err(); err != nil && c.Degraded {
			degraded = append(degraded, c.Name)
			errs = append(errs, "err", err)
		} else if err != nil {
			reasons = append(reasons, c.Name)
			errs = append(errs, "err", err)
		}
	}
	reason, detail := strings.Join(reasons, ", "), strings.Join(degraded, ", ")
	h.ready.mu.Lock()
	changed := reason != h.ready.reason
	h.ready.reason = reason
	detailChanged := detail != h.ready.degraded
	h.ready.degraded = detail
	h.ready.mu.Unlock()
	if detailChanged && detail != "" {
		h.cfg.Logger.Warn("degraded: "+detail, errs...)
	} else if detailChanged {
		h.cfg.Logger.Info("no longer degraded")
	}
	if changed && reason != "" {
		h.cfg.Logger.Warn("not ready: "+reason, errs...)
	} else if changed {
		h.cfg.Logger.Info("ready")
	}
	return reason, detail
}
