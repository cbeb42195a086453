package s3test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// CountingProxy starts a reverse proxy on 127.0.0.1 in front of the
// path-style S3 endpoint and returns its address, to use as the endpoint
// instead, and a function that reports how many GET requests for objects
// (/bucket/key, not bucket-level requests such as listings) it has
// forwarded. It stops when the test ends.
func CountingProxy(t testing.TB, endpoint string) (proxyEndpoint string, gets func() int64) {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil || target.Host == "" {
		t.Fatalf("CountingProxy: bad endpoint %q", endpoint)
	}
	var n atomic.Int64
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			// Requests are signed for the host the client dialled, the
			// proxy: keep it, or the server rejects the signature.
			r.Out.Host = r.In.Host
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && isObjectPath(r.URL.Path) {
			n.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, n.Load
}

// isObjectPath reports whether a path-style request path names an object:
// /bucket/key with a non-empty key.
func isObjectPath(p string) bool {
	_, key, ok := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	return ok && key != ""
}
