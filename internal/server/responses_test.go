package server

import (
	"github.com/imgproxy-team/imgproxy/internal/testtools"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// Each row of the README's table of answers ("What a request does"), provoked over HTTP.
func TestResponseTable(t *testing.T) {
	s := newStack(t, func(o *stackOptions) { o.maxBytes = 1 << 20 })
	s.fixtures()
	s.s3.Put(t, "huge.jpg", make([]byte, 2<<20)) // over max_bytes
	u := s.sign("photo.jpg", "w", "100")

	t.Run("200", func(t *testing.T) {
		r := s.get(u)
		want := map[string]string{
			"Content-Type":           "image/jpeg",
			"Content-Length":         strconv.Itoa(len(r.body)),
			"Cache-Control":          "public, max-age=86400, stale-while-revalidate=604800", // no v
			"X-Content-Type-Options": "nosniff",
			"X-Cache":                "miss",
		}
		for k, v := range want {
			if got := r.header.Get(k); got != v {
				t.Errorf("%s: %q, want %q", k, got, v)
			}
		}
		if etag := r.header.Get("ETag"); len(etag) != 34 || etag[0] != '"' {
			t.Errorf("ETag %q", etag)
		}
		if lm, err := http.ParseTime(r.header.Get("Last-Modified")); err != nil || time.Since(lm) > time.Hour {
			t.Errorf("Last-Modified %q: %v", r.header.Get("Last-Modified"), err)
		}
		if r.header.Get("Vary") != "" {
			t.Error("Vary without auto=format")
		}
		again := s.get(u)
		if again.header.Get("X-Cache") != "memory" || again.header.Get("ETag") != r.header.Get("ETag") {
			t.Errorf("second request: X-Cache %q", again.header.Get("X-Cache"))
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		r := s.do(http.MethodHead, u)
		if r.status != 200 || len(r.body) != 0 || r.header.Get("Content-Length") == "0" || r.header.Get("Content-Type") != "image/jpeg" {
			t.Errorf("HEAD: %d, %d bytes, %v", r.status, len(r.body), r.header)
		}
	})
	t.Run("304 from the cached variant, without touching the origin", func(t *testing.T) {
		etag := s.get(u).header.Get("ETag")
		before := s.gets()
		for _, inm := range []string{etag, `"x", ` + etag, "W/" + etag, "*"} {
			if r := s.get(u, "If-None-Match", inm); r.status != 304 || len(r.body) != 0 || r.header.Get("ETag") != etag {
				t.Errorf("If-None-Match %s: %d", inm, r.status)
			}
		}
		if r := s.get(u, "If-None-Match", `"other"`); r.status != 200 {
			t.Errorf("non-matching ETag: %d", r.status)
		}
		if g := s.gets() - before; g != 0 {
			t.Errorf("%d origin GETs", g)
		}
		// "*" matches only a representation that exists: a variant of an
		// original that does not is the same 404 as without the header.
		missing := s.sign("no-such.jpg", "w", "100")
		if r := s.get(missing, "If-None-Match", "*"); r.status != 404 || r.header.Get("Cache-Control") != "public, max-age=60" {
			t.Errorf("If-None-Match * on a missing original: %d %q", r.status, r.header.Get("Cache-Control"))
		}
	})
	t.Run("Vary only with auto=format", func(t *testing.T) {
		r := s.get(s.sign("photo.jpg", "w", "100", "auto", "format"), "Accept", "image/webp")
		if r.header.Get("Vary") != "Accept" || r.header.Get("Content-Type") != "image/webp" {
			t.Errorf("Vary %q, type %q", r.header.Get("Vary"), r.header.Get("Content-Type"))
		}
	})
	t.Run("max-age capped by exp", func(t *testing.T) {
		exp := time.Now().Add(time.Hour).Unix()
		r := s.get(s.sign("photo.jpg", "v", "1", "w", "100", "exp", strconv.FormatInt(exp, 10)))
		cc := r.header.Get("Cache-Control")
		age, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(cc, "public, max-age="), ", immutable"))
		if age < 3500 || age > 3600 {
			t.Errorf("Cache-Control %q", cc)
		}
	})

	for _, c := range []struct {
		name, path string
		status     int
		body       string
	}{
		{"not canonical", strings.Replace(u, "w=100", "w=0100", 1), 400, "w"},
		{"bad parameter", s.sign("photo.jpg", "w", "100") + "&w=1", 400, "s must be the last"},
		{"unknown parameter", "/photo.jpg?zoom=2&s=x", 400, `unknown parameter "zoom"`},
		{"no signature", "/photo.jpg", 403, "missing signature"},
		{"wrong signature", "/photo.jpg?s=J0dnIbFpJJyLFhQ9RGshlmd6fVuxPMFxZEu7VhCMo3k", 403, "bad signature"},
		{"expired", s.sign("photo.jpg", "exp", "1000"), 410, "expired"},
		{"missing original", s.sign("nope.jpg", "w", "10"), 404, "not found"},
		{"too many bytes", s.sign("huge.jpg", "w", "10"), 413, "too large"},
		{"too many pixels", s.sign("bomb.png", "w", "10"), 413, "too large"},
		{"not an image", s.sign("page.jpg", "w", "10"), 415, "not a supported image"},
		{"not an image, original", s.sign("page.jpg"), 415, "not a supported image"},
		{"empty object", s.sign("empty.jpg", "w", "10"), 415, "not a supported image"},
		{"svg refused", s.sign("script.svg"), 415, "not a supported image"},
		{"truncated", s.sign("truncated.jpg", "w", "10"), 422, "truncated or corrupt"},
		{"truncated, original", s.sign("truncated.jpg"), 422, "truncated or corrupt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.get(c.path)
			if r.status != c.status || !strings.Contains(string(r.body), c.body) {
				t.Errorf("%d %q, want %d containing %q", r.status, r.body, c.status, c.body)
			}
			if r.header.Get("Content-Type") != "text/plain; charset=utf-8" || r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("error headers: %v", r.header)
			}
			if cc := r.header.Get("Cache-Control"); cc != "public, max-age=60" {
				t.Errorf("Cache-Control %q", cc)
			}
			s.checkNoLeak("error body", r.body)
		})
	}
	t.Run("414", func(t *testing.T) {
		long := "/" + strings.Repeat("a", 9000) + ".jpg?s=x"
		if r := s.get(long); r.status != http.StatusRequestURITooLong {
			t.Errorf("%d", r.status)
		}
	})
	t.Run("405", func(t *testing.T) {
		for _, m := range []string{"POST", "PUT", "DELETE", "OPTIONS", "PATCH"} {
			r := s.do(m, u)
			if r.status != 405 || r.header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s: %d, Allow %q", m, r.status, r.header.Get("Allow"))
			}
		}
	})
	t.Run("health", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz"} {
			if r := s.get(p); r.status != 200 {
				t.Errorf("%s: %d", p, r.status)
			}
		}
	})
	s.checkNoLeak("log", []byte(s.logs.String()))
}

// The origin failing, slow, or unreachable: 502 and 504, and nothing that
// names the bucket or endpoint.
func TestOriginFaults(t *testing.T) {
	t.Run("502 missing bucket", func(t *testing.T) {
		s := newStack(t, func(o *stackOptions) { o.bucket = "no-such-bucket-for-imgproxy" })
		r := s.get(s.sign("photo.jpg", "w", "10"))
		if r.status != 502 || r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%d %s", r.status, r.body)
		}
		if strings.Contains(string(r.body), "no-such-bucket") || strings.Contains(s.logs.String(), "no-such-bucket") {
			t.Error("bucket name leaked")
		}
	})
	t.Run("502 connection refused", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		s := newStack(t, func(o *stackOptions) { o.endpoint = "http://" + addr })
		r := s.get(s.sign("photo.jpg", "w", "10"))
		if r.status != 502 || strings.Contains(string(r.body)+s.logs.String(), addr) {
			t.Errorf("%d %s\n%s", r.status, r.body, s.logs.String())
		}
	})
	t.Run("504 slow origin", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() { // accepts, reads, never answers
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		s := newStack(t, func(o *stackOptions) {
			o.endpoint, o.originTimeout = "http://"+ln.Addr().String(), 300*time.Millisecond
		})
		start := time.Now()
		r := s.get(s.sign("photo.jpg", "w", "10"))
		if r.status != 504 || time.Since(start) > 3*time.Second {
			t.Errorf("%d after %v", r.status, time.Since(start))
		}
	})
}

// With the only worker busy and no queue, the next miss is 503 at once.
func TestOverloaded(t *testing.T) {
	s := newStack(t, func(o *stackOptions) { o.workers, o.queue = 1, 0 })
	s.s3.Put(t, "big.jpg", testimages.JPEG(testimages.Noisy(2000, 1500)))
	s.s3.Put(t, "small.jpg", testimages.JPEG(testimages.Quadrants(64, 64)))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a slow transform: noise, as a large WebP
		defer wg.Done()
		if r := s.get(s.sign("big.jpg", "fm", "webp", "w", "2000", "q", "95")); r.status != 200 {
			t.Errorf("slow request: %d %s", r.status, r.body)
		}
	}()
	for s.tr.Stats().Busy == 0 {
		time.Sleep(time.Millisecond)
	}
	gets := s.gets()
	r := s.get(s.sign("small.jpg", "w", "10"))
	if r.status != 503 || r.header.Get("Retry-After") == "" || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("%d, Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	// Refused before the original was fetched: overload costs no egress.
	if n := s.gets() - gets; n != 0 {
		t.Errorf("the refused request fetched from the origin %d times", n)
	}
	wg.Wait()
	for s.tr.Stats().Busy != 0 {
		time.Sleep(time.Millisecond)
	}
	// The overload was not cached: the same URL works now.
	if r := s.get(s.sign("small.jpg", "w", "10")); r.status != 200 {
		t.Errorf("after overload: %d", r.status)
	}
}

// A decompression bomb is refused from its header: the process's memory
// does not grow by anything like the 2.5 GB it declares.
func TestBombMemoryFlat(t *testing.T) {
	s := newStack(t, nil)
	s.s3.Put(t, "bomb.png", testimages.PNGBomb(50000, 50000))
	before := rss(t)
	for i := 0; i < 5; i++ {
		if r := s.get(s.sign("bomb.png", "w", strconv.Itoa(10+i))); r.status != 413 {
			t.Fatalf("bomb: %d %s", r.status, r.body)
		}
	}
	if grew := rss(t) - before; grew > 64<<20 {
		t.Errorf("RSS grew by %d MiB", grew>>20)
	}
}

// rss reads this process's resident set size.
func rss(t *testing.T) int64 { return testtools.ProcStatus(t, "VmRSS:") }
