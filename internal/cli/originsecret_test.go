package cli

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// With server.origin_secret, only requests carrying it reach the server:
// others get 403 before any other work (even a valid signed URL), health
// checks stay open, and the secret appears in no response or log line.
func TestServeOriginSecret(t *testing.T) {
	const secret = "cdn-only-3f9a0c2b7e6d41a8"
	base, logs := startServeLogs(t, tlsOrigin(t), "IMGPROXY_SERVER_ORIGIN_SECRET", secret)
	u := base + signedPath(t, "cat.jpg", "w", "40")
	get := func(url, header string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if header != "" {
			req.Header.Set("X-Origin-Secret", header)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b) + strings.Join(res.Header.Values("Cache-Control"), ",")
	}
	for _, c := range []struct {
		name, url, header string
		status            int
	}{
		{"no header", u, "", 403},
		{"wrong secret", u, "cdn-only-3f9a0c2b7e6d41a9", 403},
		{"a prefix of it", u, secret[:10], 403},
		{"forged URL without the secret", base + "/cat.jpg?w=40&s=AAAA", "", 403},
		{"health check", base + "/healthz", "", 200},
		{"the CDN", u, secret, 200},
	} {
		status, body := get(c.url, c.header)
		if status != c.status {
			t.Errorf("%s: %d, want %d", c.name, status, c.status)
		}
		if strings.Contains(body, secret) {
			t.Errorf("%s: the response holds the secret", c.name)
		}
	}
	if l := logs.String(); strings.Contains(l, secret) || strings.Contains(l, "cdn-only") || !strings.Contains(l, "no valid origin secret") {
		t.Errorf("log:\n%s", l)
	}
}
