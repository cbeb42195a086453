package server

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

// A failing check marked Degraded (the shared cache tier) is named in the
// body of /readyz but never makes the server unready; the change is logged
// once each way.
func TestReadyDegradedStaysReady(t *testing.T) {
	var mu sync.Mutex
	var sharedErr, originErr error
	get := func(p *error) func() error {
		return func() error { mu.Lock(); defer mu.Unlock(); return *p }
	}
	set := func(p *error, err error) { mu.Lock(); defer mu.Unlock(); *p = err }
	h, logs, _ := probeHandler(t, Config{ReadyChecks: []ReadyCheck{
		{Name: "origin failing", Err: get(&originErr)},
		{Name: "shared cache tier failing", Err: get(&sharedErr), Degraded: true},
	}})
	body := func() (int, string) {
		w := probeReq(h, "GET", "/readyz")
		return w.Code, strings.TrimSpace(w.Body.String())
	}
	set(&sharedErr, errors.New("shared cache: s3 get: connection refused"))
	for range 3 {
		if code, b := body(); code != 200 || b != "ready (degraded: shared cache tier failing)" {
			t.Errorf("shared failing: %d %q", code, b)
		}
	}
	set(&originErr, errors.New("origin down"))
	if code, b := body(); code != 503 || b != "not ready: origin failing (degraded: shared cache tier failing)" {
		t.Errorf("both: %d %q", code, b)
	}
	set(&originErr, nil)
	set(&sharedErr, nil)
	if code, b := body(); code != 200 || b != "ready" {
		t.Errorf("recovered: %d %q", code, b)
	}
	out := logs.String()
	if strings.Count(out, "degraded: shared cache tier failing") != 1 || strings.Count(out, "no longer degraded") != 1 ||
		!strings.Contains(out, "connection refused") {
		t.Errorf("degradation not logged once each way, with its error:\n%s", out)
	}
}
