package urlsig

import (
	"strings"
	"unicode/utf8"
)

// MaxKeyLen is the longest object key, in bytes, that a URL may name.
const MaxKeyLen = 1024

// checkKey validates a decoded object key against the contract.
func checkKey(key string) error {
	if key == "" {
		return errorf("empty object key")
	}
	if len(key) > MaxKeyLen {
		return errorf("object key is %d bytes, more than %d", len(key), MaxKeyLen)
	}
	if !utf8.ValidString(key) {
		return errorf("object key is not valid UTF-8")
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c == 0x7f {
			return errorf("object key contains control byte 0x%02x", c)
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return errorf("object key has an empty path segment")
		case ".", "..":
			return errorf("object key has a %q path segment", seg)
		}
	}
	return nil
}

// appendPath appends the canonical path of key: "/" and each segment escaped.
func appendPath(dst []byte, key string) []byte {
	dst = append(dst, '/')
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == '/' || unreserved(c) {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
	}
	return dst
}
