package ratelimit

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	l := New(2, 3, 100) // 2 per second, bursts of 3
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	a := netip.MustParseAddr("203.0.113.7")
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow(a); !ok {
			t.Fatalf("burst request %d refused", i)
		}
	}
	ok, wait := l.Allow(a)
	if ok || wait != 500*time.Millisecond {
		t.Errorf("over the burst: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := l.Allow(netip.MustParseAddr("203.0.113.8")); !ok {
		t.Error("another client was limited")
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := l.Allow(a); !ok {
		t.Error("not refilled at the rate")
	}
	if ok, _ := l.Allow(a); ok {
		t.Error("refilled too fast")
	}
}

func TestIPv6GroupedBySlash64(t *testing.T) {
	l := New(1, 1, 100)
	l.now = func() time.Time { return time.Unix(0, 0) }
	l.Allow(netip.MustParseAddr("2001:db8:1:2::1"))
	if ok, _ := l.Allow(netip.MustParseAddr("2001:db8:1:2:ffff::9")); ok {
		t.Error("a new address in the same /64 got a fresh bucket")
	}
	if ok, _ := l.Allow(netip.MustParseAddr("2001:db8:1:3::1")); !ok {
		t.Error("another /64 was limited")
	}
}

// Memory stays bounded when addresses are endless.
func TestMaxClients(t *testing.T) {
	l := New(1, 1, 1000)
	base := netip.MustParseAddr("10.0.0.0")
	for i := 0; i < 100_000; i++ {
		l.Allow(base)
		base = base.Next()
	}
	if n := len(l.buckets); n > 1000 {
		t.Errorf("%d buckets", n)
	}
}

func TestClientAddr(t *testing.T) {
	trusted, err := ParsePrefixes([]string{"173.245.48.0/20", "2400:cb00::/32", "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	c := ClientAddr{Trusted: trusted}
	for _, tc := range []struct {
		name, peer string
		headers    map[string]string
		want       string
	}{
		{"direct", "198.51.100.1:5000", nil, "198.51.100.1"},
		{"spoofed header from an untrusted peer", "198.51.100.1:5000", map[string]string{"CF-Connecting-IP": "1.2.3.4", "X-Forwarded-For": "1.2.3.4"}, "198.51.100.1"},
		{"cloudflare", "173.245.48.10:443", map[string]string{"CF-Connecting-IP": "203.0.113.9"}, "203.0.113.9"},
		{"cloudflare v6", "[2400:cb00::1]:443", map[string]string{"CF-Connecting-IP": "2001:db8::5"}, "2001:db8::5"},
		{"xff right-most untrusted", "10.0.0.1:80", map[string]string{"X-Forwarded-For": "6.6.6.6, 203.0.113.9, 173.245.48.1"}, "203.0.113.9"},
		{"xff all trusted", "10.0.0.1:80", map[string]string{"X-Forwarded-For": "173.245.48.1"}, "10.0.0.1"},
		{"xff garbage", "10.0.0.1:80", map[string]string{"X-Forwarded-For": "nonsense"}, "10.0.0.1"},
		{"trusted peer, no header", "10.0.0.1:80", nil, "10.0.0.1"},
		{"mapped v4", "[::ffff:198.51.100.1]:80", nil, "198.51.100.1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		for k, v := range tc.headers {
			r.Header.Set(k, v)
		}
		if got := c.Of(r); got.String() != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	if _, err := ParsePrefixes([]string{"not-an-ip"}); err == nil {
		t.Error("bad prefix accepted")
	}
}

// "cloudflare" stands for Cloudflare's ranges, alone or beside CIDRs; a
// peer in them is believed, one outside is not; another word is an error
// that names it.
func TestTrustedCloudflare(t *testing.T) {
	for _, list := range [][]string{{"cloudflare"}, {"10.0.0.0/8", " Cloudflare "}} {
		trusted, err := ParsePrefixes(list)
		if err != nil {
			t.Fatal(err)
		}
		c := ClientAddr{Trusted: trusted}
		for peer, believed := range map[string]bool{
			"104.16.1.1:443": true, "[2606:4700::1]:443": true, "162.159.0.1:443": true,
			"8.8.8.8:443": false, "[2001:db8::1]:443": false,
		} {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = peer
			r.Header.Set("CF-Connecting-IP", "203.0.113.9")
			if got := c.Of(r).String() == "203.0.113.9"; got != believed {
				t.Errorf("%v, peer %s: CF-Connecting-IP believed %v", list, peer, got)
			}
		}
	}
	if _, err := ParsePrefixes([]string{"cloudfare"}); err == nil || !strings.Contains(err.Error(), `"cloudfare"`) {
		t.Errorf("a misspelt word: %v", err)
	}
	if len(cloudflarePrefixes()) != len(CloudflareRanges) {
		t.Error("ranges lost in parsing")
	}
}
