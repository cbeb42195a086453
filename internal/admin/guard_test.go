package admin

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

func TestGuard(t *testing.T) {
	for _, tc := range []struct {
		name    string
		listen  string
		host    string
		headers map[string]string
		want    int
	}{
		{name: "CLI on loopback", listen: "127.0.0.1:9090", host: "127.0.0.1:9090", want: 200},
		{name: "IPv6 loopback", listen: "[::1]:9090", host: "[::1]:9090", want: 200},
		{name: "localhost", listen: "127.0.0.1:9090", host: "localhost:9090", want: 200},
		{name: "localhost in capitals, rooted", listen: "127.0.0.1:9090", host: "LOCALHOST.:9090", want: 200},
		{name: "configured name", listen: "admin.internal:9090", host: "Admin.Internal:9090", want: 200},
		{name: "wildcard reached by a private address", listen: ":9090", host: "10.1.2.3:9090", want: 200},
		{name: "published on another port", listen: ":9090", host: "127.0.0.1:19090", want: 200},
		{name: "no port", listen: "127.0.0.1:80", host: "127.0.0.1", want: 200},
		{name: "browser typed the address", listen: "127.0.0.1:9090", host: "127.0.0.1:9090",
			headers: map[string]string{"Sec-Fetch-Site": "none"}, want: 200},
		{name: "pprof link on its own page", listen: "127.0.0.1:9090", host: "127.0.0.1:9090",
			headers: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1:9090"}, want: 200},

		{name: "DNS rebinding", listen: "127.0.0.1:9090", host: "evil.example:9090", want: 403},
		{name: "DNS rebinding to a wildcard", listen: "0.0.0.0:9090", host: "evil.example:9090", want: 403},
		{name: "name that starts like localhost", listen: "127.0.0.1:9090", host: "localhost.evil.example:9090", want: 403},
		{name: "not the configured name", listen: "admin.internal:9090", host: "admin.internal.evil.example:9090", want: 403},
		{name: "no Host", listen: "127.0.0.1:9090", host: "", want: 403},
		{name: "cross-site form", listen: "127.0.0.1:9090", host: "127.0.0.1:9090",
			headers: map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, want: 403},
		{name: "foreign Origin alone", listen: "127.0.0.1:9090", host: "127.0.0.1:9090",
			headers: map[string]string{"Origin": "http://evil.example"}, want: 403},
		{name: "Origin of another local port", listen: "127.0.0.1:9090", host: "127.0.0.1:9090",
			headers: map[string]string{"Origin": "http://127.0.0.1:3000"}, want: 403},
		{name: "opaque Origin", listen: "127.0.0.1:9090", host: "127.0.0.1:9090",
			headers: map[string]string{"Origin": "null"}, want: 403},
		{name: "Sec-Fetch-Site alone", listen: "127.0.0.1:9090", host: "127.0.0.1:9090",
			headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, want: 403},
		{name: "same site is not same origin", listen: "127.0.0.1:9090", host: "localhost:9090",
			headers: map[string]string{"Sec-Fetch-Site": "same-site"}, want: 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reached := false
			g := newGuard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }),
				tc.listen, slog.New(slog.DiscardHandler))
			r := httptest.NewRequest("POST", "/purge?key=a.jpg", nil)
			r.Host = tc.host
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)
			if w.Code != tc.want || reached != (tc.want == 200) {
				t.Errorf("status %d, handler reached %v; want %d", w.Code, reached, tc.want)
			}
			if tc.want == 403 && (w.Body.Len() > 80 || !strings.HasPrefix(w.Body.String(), "forbidden: ")) {
				t.Errorf("body %q", w.Body.String())
			}
		})
	}
}

// Over a real listener: a plain cross-site form POST and a rebinding read
// of /metrics are refused and purge nothing, while the requests the CLI and
// Prometheus make still work.
func TestHandlerRefusesBrowsers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var purged atomic.Int32
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "imgproxy_up 1\n") })
	srv := &http.Server{Handler: Handler("127.0.0.1:0", metrics, func(string) (int, error) { purged.Add(1); return 1, nil },
		nil, slog.New(slog.DiscardHandler))}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	do := func(req *http.Request) (int, string) {
		t.Helper()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}

	form, _ := http.NewRequest("POST", base+"/purge?key=a.jpg", strings.NewReader(url.Values{"x": {"1"}}.Encode()))
	form.Header.Set("Origin", "http://evil.example")
	form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	form.Header.Set("Sec-Fetch-Site", "cross-site")
	if code, body := do(form); code != 403 || purged.Load() != 0 {
		t.Errorf("cross-site form POST: %d %q, %d purges", code, body, purged.Load())
	}

	rebound, _ := http.NewRequest("GET", base+"/metrics", nil)
	rebound.Host = "evil.example:" + port
	if code, body := do(rebound); code != 403 || strings.Contains(body, "imgproxy_up") {
		t.Errorf("rebinding GET /metrics: %d %q", code, body)
	}

	// What `imgproxy cache purge` and a Prometheus scrape send.
	cli, _ := http.NewRequest("POST", base+"/purge?key=a.jpg", nil)
	if code, body := do(cli); code != 200 || purged.Load() != 1 {
		t.Errorf("CLI purge: %d %q", code, body)
	}
	scrape, _ := http.NewRequest("GET", "http://localhost:"+port+"/metrics", nil)
	if code, body := do(scrape); code != 200 || !strings.Contains(body, "imgproxy_up") {
		t.Errorf("scrape by localhost: %d %q", code, body)
	}
}

func TestWildcard(t *testing.T) {
	for addr, want := range map[string]bool{
		":9090": true, "0.0.0.0:9090": true, "[::]:9090": true, "[0:0::0]:9090": true,
		"127.0.0.1:9090": false, "[::1]:9090": false, "localhost:9090": false, "10.0.0.5:9090": false,
		"admin.internal:9090": false, "": false,
	} {
		if got := Wildcard(addr); got != want {
			t.Errorf("Wildcard(%q) = %v", addr, got)
		}
	}
}
