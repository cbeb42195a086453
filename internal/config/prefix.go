package config

import (
	"fmt"
	"net/url"
	"strings"
)

// A path prefix lets one domain route by path: https://example.com/img/...
// reaches this server, which strips "/img" before it verifies, because the
// signature covers only the object key and parameters. The prefix is
// compared byte for byte with the request, so it is held to plain segments
// that every client sends as written.

// ParsePathPrefix checks a path prefix ("/img", "/a/b") and returns it
// without trailing slashes; "" and "/" are no prefix.
func ParsePathPrefix(s string) (string, error) {
	p := strings.TrimRight(s, "/")
	if p == "" {
		return "", nil
	}
	if p[0] != '/' || !plainSegments(p[1:]) {
		return "", fmt.Errorf("want /segment[/segment...] of A-Z a-z 0-9 - . _ ~ (like /img), got %q", s)
	}
	return p, nil
}

// BasePath returns the path prefix of a base URL ("/img" for
// https://example.com/img), "" when it has none or is not a valid one.
func BasePath(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return ""
	}
	p, err := ParsePathPrefix(u.EscapedPath())
	if err != nil {
		return ""
	}
	return p
}

func plainSegments(s string) bool {
	for seg := range strings.SplitSeq(s, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for _, c := range []byte(seg) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
				return false
			}
		}
	}
	return true
}

func pathPrefix(p *string) func(string) error {
	return func(s string) error {
		v, err := ParsePathPrefix(s)
		*p = v
		return err
	}
}

// baseURL holds signing.base_url to what a URL can be prefixed with: a
// scheme, a host and at most a path prefix, which the server's
// server.path_prefix must then strip.
func baseURL(p *string) func(string) error {
	return func(s string) error {
		*p = s
		if s == "" {
			return nil
		}
		u, err := url.Parse(s)
		if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil &&
			u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" && !strings.Contains(s, "#") {
			if _, err = ParsePathPrefix(u.EscapedPath()); err == nil && u.EscapedPath() == u.Path {
				return nil
			}
		}
		return fmt.Errorf("want http:// or https://, a host, and optionally a path prefix of A-Z a-z 0-9 - . _ ~ segments (https://example.com/img), without query or fragment, got %q", s)
	}
}
