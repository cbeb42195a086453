package config

import (
	"strings"
	"testing"
)

func TestPathPrefix(t *testing.T) {
	t.Chdir(t.TempDir())
	for in, want := range map[string]string{"": "", "/": "", "/img": "/img", "/img/": "/img", "/a/b-c_d.e~f": "/a/b-c_d.e~f"} {
		t.Setenv("IMGPROXY_SERVER_PATH_PREFIX", in)
		c, err := Load(Source{})
		if err != nil || c.Server.PathPrefix != want {
			t.Errorf("%q: %q, %v; want %q", in, c.Server.PathPrefix, err, want)
		}
	}
	// Compared byte for byte with the request line: only what every client
	// sends as written.
	for _, in := range []string{"img", "/img//x", "/a b", "/%41", "/caf\u00e9", "/img?x", "/../x", "/./x", "//img"} {
		t.Setenv("IMGPROXY_SERVER_PATH_PREFIX", in)
		if _, err := Load(Source{}); err == nil || !strings.Contains(err.Error(), "server.path_prefix") {
			t.Errorf("%q accepted: %v", in, err)
		}
	}
}

func TestBaseURL(t *testing.T) {
	t.Chdir(t.TempDir())
	for in, path := range map[string]string{
		"https://img.example.com": "", "https://img.example.com/": "", "http://127.0.0.1:8080": "",
		"https://example.com/img": "/img", "https://example.com/img/": "/img", "https://example.com/a/b": "/a/b",
	} {
		t.Setenv("IMGPROXY_SIGNING_BASE_URL", in)
		c, err := Load(Source{})
		if err != nil || c.Signing.BaseURL != strings.TrimRight(in, "/") || BasePath(c.Signing.BaseURL) != path {
			t.Errorf("%q: %q (path %q), %v", in, c.Signing.BaseURL, BasePath(c.Signing.BaseURL), err)
		}
	}
	for _, in := range []string{"img.example.com", "ftp://x", "https://", "https://x/img?a=1", "https://x/img#f",
		"https://x/a b", "https://x/caf%C3%A9", "https://u:p@x", "https://x//img", "https://x/../img"} {
		t.Setenv("IMGPROXY_SIGNING_BASE_URL", in)
		if _, err := Load(Source{}); err == nil || !strings.Contains(err.Error(), "signing.base_url") {
			t.Errorf("%q accepted: %v", in, err)
		}
	}
}
