// Package urlsig owns the v1 URL contract: the one canonical byte string for
// each (object key, parameters) pair, strict parsing that rejects anything
// else, and HMAC-SHA256 signing and verification over a ring of keys.
//
// It knows parameter names but not what their values mean; package params
// interprets values.
package urlsig

import "strings"

const upperHex = "0123456789ABCDEF"

// unreserved reports whether b stays literal in a canonical URL.
func unreserved(b byte) bool {
	return 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' ||
		b == '-' || b == '.' || b == '_' || b == '~'
}

// appendEscaped appends s percent-encoded byte by byte: unreserved bytes stay,
// every other byte becomes %XX with upper-case hex.
func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
	}
	return dst
}

// Escape returns s percent-encoded as one canonical path segment or value.
func Escape(s string) string {
	return string(appendEscaped(make([]byte, 0, len(s)+8), s))
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	// Lower-case hex is deliberately not accepted: it is not canonical.
	return 0, false
}

// unescapeCanonical decodes s, which must be canonically encoded: only
// unreserved bytes and %XX escapes of bytes that are not unreserved, with
// upper-case hex. It returns s itself when there is nothing to decode, so the
// common case does not allocate.
func unescapeCanonical(s string) (string, error) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) {
				return "", errorf("truncated escape %q", s[i:])
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return "", errorf("escape %q must be %%XX with upper-case hex", s[i:i+3])
			}
			if unreserved(hi<<4 | lo) {
				return "", errorf("%q must be written as %q", s[i:i+3], string(hi<<4|lo))
			}
			n++
			i += 2
			continue
		}
		if !unreserved(c) {
			return "", errorf("byte %q must be escaped as %%%c%c", c, upperHex[c>>4], upperHex[c&15])
		}
	}
	if n == 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s) - 2*n)
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			hi, _ := unhex(s[i+1])
			lo, _ := unhex(s[i+2])
			b.WriteByte(hi<<4 | lo)
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String(), nil
}
