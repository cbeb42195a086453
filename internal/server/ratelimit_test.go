package server

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/ratelimit"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// Misses are limited per client, hits never are, and the client is the
// socket's address unless the peer is a trusted proxy.
func TestMissRateLimit(t *testing.T) {
	for _, c := range []struct {
		name    string
		trusted []netip.Prefix
		// With trust, two CF-Connecting-IP values are two clients; without,
		// they are one (the socket), whatever the header says.
		separate bool
	}{
		{"untrusted peer", nil, false},
		{"trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			lim := ratelimit.Misses{Limiter: ratelimit.New(0.001, 2, 100), Addr: ratelimit.ClientAddr{Trusted: c.trusted}}
			s := newStack(t, func(o *stackOptions) { o.limiter = lim })
			s.s3.Put(t, "a.jpg", testimages.JPEG(testimages.Quadrants(64, 64)))
			url := func(w int) string { return s.sign("a.jpg", "w", strconv.Itoa(w)) }
			as := func(ip string) []string { return []string{"CF-Connecting-IP", ip} }

			for w := 10; w < 12; w++ {
				if r := s.get(url(w), as("203.0.113.1")...); r.status != 200 {
					t.Fatalf("within the burst: %d", r.status)
				}
			}
			r := s.get(url(12), as("203.0.113.1")...)
			if r.status != 429 || r.header.Get("Retry-After") == "" || r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("over the limit: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
			}
			// Hits are never limited.
			for i := 0; i < 5; i++ {
				if r := s.get(url(10), as("203.0.113.1")...); r.status != 200 || r.header.Get("X-Cache") != "memory" {
					t.Errorf("hit while limited: %d", r.status)
				}
			}
			other := s.get(url(13), as("203.0.113.2")...).status
			if c.separate && other != 200 || !c.separate && other != 429 {
				t.Errorf("another CF-Connecting-IP: %d", other)
			}
		})
	}
}
