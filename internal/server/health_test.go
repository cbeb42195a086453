package server

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// probeHandler is a Handler with only what the probes use, a log at info
// level and a record of what it observed.
func probeHandler(t *testing.T, cfg Config) (*Handler, *syncBuffer, *[]int) {
	logs := &syncBuffer{}
	var mu sync.Mutex
	var observed []int
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	cfg.Observe = func(status int, _ string, _ time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		observed = append(observed, status)
	}
	cfg.Ring = newStackRing(t)
	return New(cfg, nil, nil, nil), logs, &observed
}

func probeReq(h http.Handler, method, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w
}

// The probes answer GET and HEAD only, like every other path: a POST to
// /healthz was 200.
func TestHealthMethods(t *testing.T) {
	h, _, _ := probeHandler(t, Config{})
	for _, path := range []string{"/healthz", "/readyz"} {
		for _, m := range []string{"GET", "HEAD"} {
			if w := probeReq(h, m, path); w.Code != 200 || w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("%s %s: %d, Cache-Control %q", m, path, w.Code, w.Header().Get("Cache-Control"))
			}
		}
		for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
			if w := probeReq(h, m, path); w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d, Allow %q", m, path, w.Code, w.Header().Get("Allow"))
			}
		}
	}
}

// Probes are neither counted as requests nor logged one line each; the
// image requests around them are.
func TestHealthProbesQuiet(t *testing.T) {
	h, logs, observed := probeHandler(t, Config{})
	for range 10 {
		probeReq(h, "GET", "/healthz")
		probeReq(h, "GET", "/readyz")
	}
	probeReq(h, "GET", "/photo.jpg") // no signature: 403
	if len(*observed) != 1 || (*observed)[0] != 403 {
		t.Errorf("observed %v, want only the image request's 403", *observed)
	}
	if n := strings.Count(logs.String(), "msg=request"); n != 1 || strings.Contains(logs.String(), "healthz") {
		t.Errorf("%d request lines:\n%s", n, logs.String())
	}
}

// /readyz names each failing condition in its body, logs when readiness
// changes (not on every probe), and is ready again when the conditions
// pass.
func TestReadyReasons(t *testing.T) {
	var mu sync.Mutex
	var originErr, diskErr error
	get := func(p *error) func() error {
		return func() error { mu.Lock(); defer mu.Unlock(); return *p }
	}
	set := func(o, d error) { mu.Lock(); defer mu.Unlock(); originErr, diskErr = o, d }
	h, logs, _ := probeHandler(t, Config{
		Ready:       get(&diskErr),
		ReadyChecks: []ReadyCheck{{Name: "origin failing", Err: get(&originErr)}},
	})
	body := func() (int, string) {
		w := probeReq(h, "GET", "/readyz")
		return w.Code, strings.TrimSpace(w.Body.String())
	}
	if code, b := body(); code != 200 || b != "ready" {
		t.Errorf("ready: %d %q", code, b)
	}
	set(errors.New("origin failing: 5 fetches in a row failed; the last: status 403 at /secret/path"), nil)
	for range 3 {
		if code, b := body(); code != 503 || b != "not ready: origin failing" {
			t.Errorf("origin failing: %d %q", code, b)
		}
	}
	set(errors.New("x"), errors.New("read-only file system"))
	if code, b := body(); code != 503 || b != "not ready: cache directory not writable, origin failing" {
		t.Errorf("both: %d %q", code, b)
	}
	set(nil, nil)
	if code, b := body(); code != 200 || b != "ready" {
		t.Errorf("recovered: %d %q", code, b)
	}
	out := logs.String()
	if strings.Count(out, "not ready: origin failing") != 1 || strings.Count(out, "level=INFO msg=ready") != 1 {
		t.Errorf("readiness changes not logged once each:\n%s", out)
	}
	if !strings.Contains(out, "status 403") {
		t.Errorf("the log lacks the error:\n%s", out)
	}
}
