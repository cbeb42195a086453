package ratelimit

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// ClientAddr finds a request's client address. Headers that name a client
// (CF-Connecting-IP, X-Forwarded-For) are believed only when the connection
// comes from a trusted proxy; otherwise anyone could send them and choose
// their own address.
type ClientAddr struct {
	Trusted []netip.Prefix
}

// ParsePrefixes parses CIDR ranges ("173.245.48.0/20"), single addresses,
// and the word "cloudflare" (Cloudflare's published ranges, compiled in).
// Any other word is an error naming it.
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.EqualFold(s, "cloudflare") {
			out = append(out, cloudflarePrefixes()...)
			continue
		}
		if s != "" && (s[0] < '0' || s[0] > '9') && !strings.Contains(s, ":") {
			return nil, fmt.Errorf("trusted proxy %q: not an address, a CIDR range or the word \"cloudflare\"", s)
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (c ClientAddr) trusted(a netip.Addr) bool {
	for _, p := range c.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Of returns the client address of r: the socket's peer, or, when the peer
// is a trusted proxy, the address it reports: CF-Connecting-IP, else the
// right-most X-Forwarded-For entry that is not itself a trusted proxy.
func (c ClientAddr) Of(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	peer := ap.Addr().Unmap()
	if !c.trusted(peer) {
		return peer
	}
	if a, err := netip.ParseAddr(strings.TrimSpace(r.Header.Get("CF-Connecting-IP"))); err == nil {
		return a.Unmap()
	}
	xff := strings.Join(r.Header.Values("X-Forwarded-For"), ",")
	parts := strings.Split(xff, ",")
	for i := len(parts) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
		if err != nil {
			break // a malformed entry: nothing left of it can be trusted
		}
		if a = a.Unmap(); !c.trusted(a) {
			return a
		}
	}
	return peer
}

// Misses limits requests by their client address; it is what the server
// calls before a cache miss.
type Misses struct {
	Limiter *Limiter
	Addr    ClientAddr
}

// AllowMiss takes a token for r's client.
func (m Misses) AllowMiss(r *http.Request) (bool, time.Duration) {
	return m.Limiter.Allow(m.Addr.Of(r))
}
