package server

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/sign"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
	"github.com/imgproxy-team/imgproxy/internal/transform"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// One domain routed by path: https://example.com/img/... reaches the
// server with /img in front, while the signature covers /photos/cat.jpg.
func TestPathPrefixEndToEnd(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "photos"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "photos", "cat.jpg"), testimages.JPEG(testimages.Photo(800, 600)), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := origin.NewDir(dir, 10<<20)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transform.New(transform.Config{Workers: 1, Queue: 4, QueueTimeout: 5 * time.Second,
		Limits:   transform.Limits{MaxSourcePixels: 50_000_000, MaxOutputDim: 8192},
		Encoding: transform.Encoding{QualityJPEG: 80, QualityWebP: 80, QualityAVIF: 60, EffortWebP: 4, EffortAVIF: 2}})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(testKeyHex)
	ring, _ := urlsig.NewKeyRing([][]byte{key})
	serve := func(prefix string) string {
		h := New(Config{Ring: ring, Limits: params.DefaultLimits, CacheControl: "public, max-age=60",
			Timeout: 10 * time.Second, PathPrefix: prefix},
			src, tr, cache.New(cache.Config{MemorySize: 16 << 20, MaxEntryFraction: 0.5, FillTimeout: 10 * time.Second}))
		ts := httptest.NewServer(h)
		t.Cleanup(ts.Close)
		return ts.URL
	}
	get := func(url string) (int, []byte) {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, body
	}

	base := serve("/img")
	s := &sign.Signer{Ring: ring, BaseURL: base + "/img", Limits: params.DefaultLimits}
	u, err := s.URL("photos/cat.jpg", []urlsig.Param{{Name: "w", Value: "400"}})
	if err != nil {
		t.Fatal(err)
	}
	status, body := get(u)
	if status != 200 {
		t.Fatalf("%s: %d %s", u, status, body)
	}
	if img, err := jpeg.DecodeConfig(bytes.NewReader(body)); err != nil || img.Width != 400 || img.Height != 300 {
		t.Errorf("image: %+v %v", img, err)
	}
	// The signature is over the path without the prefix, as the URL
	// contract says: the same string a server without a prefix verifies.
	bare, _ := (&sign.Signer{Ring: ring, Limits: params.DefaultLimits}).URL("photos/cat.jpg", []urlsig.Param{{Name: "w", Value: "400"}})
	if u != base+"/img"+bare {
		t.Errorf("prefixed URL %s is not the base URL and %s", u, bare)
	}

	for path, want := range map[string]int{
		bare:                                 404, // outside the prefix
		"/imgx" + bare:                       404,
		"/img":                               404,
		"/img?w=400":                         404,
		"/img/img" + bare:                    403, // the prefix is cut once
		"/img/photos/cat.jpg?w=400&s=forged": 403,
		"/healthz":                           200, // probes stay at the root
	} {
		if status, body := get(base + path); status != want {
			t.Errorf("%s: %d %s, want %d", path, status, body, want)
		}
	}
	// A signer that signed the prefix too made a URL no server accepts.
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("/img/photos/cat.jpg?w=400"))
	sig := base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	if status, _ := get(base + "/img/photos/cat.jpg?w=400&s=" + sig); status != 403 {
		t.Errorf("signature over the prefix: %d, want 403", status)
	}

	// Without server.path_prefix, the prefixed URL is refused: what a base
	// URL with a path gave before.
	if status, _ := get(serve("") + "/img" + bare); status == 200 {
		t.Errorf("a server without the prefix served %s", "/img"+bare)
	}
}
