package params

import (
	"crypto/sha256"
	"strings"
)

// Key identifies one cached variant.
type Key [sha256.Size]byte

// keyVersion names what a URL produces. It changes when the same URL must
// give different bytes than before, so that entries an earlier version
// stored (on disk, in a shared tier) are misses and get replaced, and
// their ETags no longer match. Version 2: no source metadata in any
// response, the corrected sizing of fit=inside and outside, embedded
// profiles converted to sRGB, animations kept animated.
const keyVersion = "imgproxy-variant-2\x00"

// CacheKey returns SHA-256 of the key version, the string to sign without
// exp, and the negotiated format. The signature is not part of it, so
// rotating keys keeps the cache, and neither is exp, so re-minted URLs
// share their variant.
func CacheKey(toSign string, negotiated Format) Key {
	h := sha256.New()
	h.Write([]byte(keyVersion))
	h.Write([]byte(withoutExp(toSign)))
	h.Write([]byte{0, byte(negotiated)})
	var k Key
	h.Sum(k[:0])
	return k
}

// withoutExp removes the exp parameter from a canonical string to sign.
func withoutExp(s string) string {
	path, query, ok := strings.Cut(s, "?")
	if !ok {
		return s
	}
	i := strings.Index("&"+query, "&exp=")
	if i < 0 {
		return s
	}
	// i is the offset in query of the "exp=" item.
	end := strings.IndexByte(query[i:], '&')
	if end < 0 {
		query = strings.TrimSuffix(query[:i], "&")
	} else {
		query = query[:i] + query[i+end+1:]
	}
	if query == "" {
		return path
	}
	return path + "?" + query
}
