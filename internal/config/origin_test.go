package config

import (
	"strings"
	"testing"
	"time"
)

// The startup check fails by default, takes only its three modes, and the
// readiness keys have their documented defaults.
func TestOriginCheckKeys(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := Load(Source{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Origin.Check != "fail" || c.Origin.UnreadyFailures != 5 || c.Origin.UnreadyWindow != 30*time.Second {
		t.Errorf("defaults: %+v", c.Origin)
	}
	t.Setenv("IMGPROXY_ORIGIN_CHECK", "maybe")
	t.Setenv("IMGPROXY_ORIGIN_UNREADY_FAILURES", "-1")
	_, err = Load(Source{})
	if err == nil || !strings.Contains(err.Error(), "origin.check") || !strings.Contains(err.Error(), "origin.unready_failures") {
		t.Errorf("bad values: %v", err)
	}
	t.Setenv("IMGPROXY_ORIGIN_CHECK", "warn")
	t.Setenv("IMGPROXY_ORIGIN_UNREADY_FAILURES", "0")
	if c, err := Load(Source{}); err != nil || c.Origin.Check != "warn" || c.Origin.UnreadyFailures != 0 {
		t.Errorf("warn, 0: %+v, %v", c, err)
	}
}
