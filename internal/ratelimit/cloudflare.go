package ratelimit

import "net/netip"

// CloudflareRangesDate is when CloudflareRanges was last compared with the
// list Cloudflare publishes (https://www.cloudflare.com/ips/); imgproxy
// version prints it, so an operator can tell how old the compiled-in list
// is. Cloudflare announces changes to it well ahead.
const CloudflareRangesDate = "2026-12-02"

// CloudflareRanges are the addresses Cloudflare's edge connects to origins
// from, IPv4 then IPv6. The word "cloudflare" in ratelimit.trusted_proxies
// stands for them.
var CloudflareRanges = []string{
	"173.245.48.0/20", "103.21.244.0/22", "103.22.200.0/22", "103.31.4.0/22",
	"141.101.64.0/18", "108.162.192.0/18", "190.93.240.0/20", "188.114.96.0/20",
	"197.234.240.0/22", "198.41.128.0/17", "162.158.0.0/15", "104.16.0.0/13",
	"104.24.0.0/14", "172.64.0.0/13", "131.0.72.0/22",
	"2400:cb00::/32", "2606:4700::/32", "2803:f800::/32", "2405:b500::/32",
	"2405:8100::/32", "2a06:98c0::/29", "2c0f:f248::/32",
}

// cloudflarePrefixes parses CloudflareRanges once per call site; the list
// is constant, so a parse error is a bug caught by the tests.
func cloudflarePrefixes() []netip.Prefix {
	out := make([]netip.Prefix, len(CloudflareRanges))
	for i, s := range CloudflareRanges {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}
