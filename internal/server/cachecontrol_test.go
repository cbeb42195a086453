package server

import (
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// cache.max_age caps what a CDN or browser is told to keep: before, a
// variant the server drops after a day was sent with max-age one year.
func TestCacheControlMaxAge(t *testing.T) {
	const year = "public, max-age=31536000, immutable"
	for _, tc := range []struct {
		name, value string
		limit       time.Duration
		want        string
	}{
		{"no limit", year, 0, year},
		{"capped", year, 24 * time.Hour, "public, max-age=86400, immutable"},
		{"already shorter", "public, max-age=60", time.Hour, "public, max-age=60"},
		{"s-maxage too", "public, max-age=600, s-maxage=31536000", time.Hour, "public, max-age=600, s-maxage=3600"},
		{"no max-age", "public", time.Hour, "public, max-age=3600"},
		{"no-store untouched", "no-store", time.Hour, "no-store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := capMaxAge(tc.value, tc.limit); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	// The handler sends the capped value, and exp still caps below it.
	h := New(Config{Ring: newStackRing(t), CacheControl: year, MaxAge: 24 * time.Hour}, nil, nil, nil)
	now := time.Unix(1_000_000, 0)
	if got := h.cc.header(0, now)[0]; got != "public, max-age=86400, immutable" {
		t.Errorf("without exp: %q", got)
	}
	if got := h.cc.header(now.Unix()+3600, now)[0]; got != "public, max-age=3600, immutable" {
		t.Errorf("with exp an hour away: %q", got)
	}
	if got := h.cc.header(now.Unix()+7*86400, now)[0]; got != "public, max-age=86400, immutable" {
		t.Errorf("with exp a week away: %q", got)
	}
}

// A URL with v is content-addressed and kept for a year; one without v
// may see its original change, and gets the shorter policy.
func TestCacheControlByVersion(t *testing.T) {
	s := newStack(t, func(o *stackOptions) { o.dir = t.TempDir() })
	s.put("cat.jpg", testimages.JPEG(testimages.Quadrants(40, 30)))
	for _, c := range []struct {
		url, want string
	}{
		{s.sign("cat.jpg", "v", "5d41402a", "w", "20"), "public, max-age=31536000, immutable"},
		{s.sign("cat.jpg", "w", "20"), "public, max-age=86400, stale-while-revalidate=604800"},
		{s.sign("cat.jpg", "v", "5d41402a"), "public, max-age=31536000, immutable"},
		{s.sign("cat.jpg"), "public, max-age=86400, stale-while-revalidate=604800"},
	} {
		if r := s.get(c.url); r.status != 200 || r.header.Get("Cache-Control") != c.want {
			t.Errorf("%s: %d %q, want %q", c.url, r.status, r.header.Get("Cache-Control"), c.want)
		}
	}
}
