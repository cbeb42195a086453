package s3test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// Meter counts what a MeteredProxy forwarded for object GETs: requests,
// the Range header each asked with, and the body bytes the server sent.
type Meter struct {
	mu     sync.Mutex
	gets   int
	ranges []string
	bytes  int64
}

// Gets returns the object GETs so far.
func (m *Meter) Gets() int { m.mu.Lock(); defer m.mu.Unlock(); return m.gets }

// Bytes returns the body bytes the server sent for object GETs so far.
func (m *Meter) Bytes() int64 { m.mu.Lock(); defer m.mu.Unlock(); return m.bytes }

// Ranges returns the Range header of each object GET so far ("" for none).
func (m *Meter) Ranges() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.ranges...)
}

// MeteredProxy is CountingProxy that also counts the body bytes of object
// GETs as the server sends them, so a test can prove that a reader asked
// for a few KiB of a large object and got no more.
func MeteredProxy(t testing.TB, endpoint string) (proxyEndpoint string, m *Meter) {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil || target.Host == "" {
		t.Fatalf("MeteredProxy: bad endpoint %q", endpoint)
	}
	m = &Meter{}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // signed for the proxy's host
		},
		ModifyResponse: func(resp *http.Response) error {
			r := resp.Request
			if r.Method == http.MethodGet && isObjectPath(r.URL.Path) {
				resp.Body = &countingBody{ReadCloser: resp.Body, m: m}
			}
			return nil
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && isObjectPath(r.URL.Path) {
			m.mu.Lock()
			m.gets++
			m.ranges = append(m.ranges, r.Header.Get("Range"))
			m.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, m
}

type countingBody struct {
	io.ReadCloser
	m *Meter
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.m.mu.Lock()
	c.m.bytes += int64(n)
	c.m.mu.Unlock()
	return n, err
}
