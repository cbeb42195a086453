package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

func testRing(t *testing.T, seed byte) *urlsig.KeyRing {
	t.Helper()
	ring, err := urlsig.NewKeyRing([][]byte{bytes.Repeat([]byte{seed}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

func signed(t *testing.T, ring *urlsig.KeyRing, key string, params ...urlsig.Param) string {
	t.Helper()
	u, err := ring.URL(key, params)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// What an operator pastes is read as the object key it names, or refused
// with the reason, by the URL contract's own rules.
func TestObjectKey(t *testing.T) {
	ring := testRing(t, 1)
	w := urlsig.Param{Name: "w", Value: "400"}
	cat := signed(t, ring, "photos/x.jpg", w)                                                // /photos/x.jpg?w=400&s=…
	spaced := signed(t, ring, "photos/my cat.jpg", w, urlsig.Param{Name: "exp", Value: "1"}) // escaped, with exp
	other := signed(t, testRing(t, 2), "photos/x.jpg", w)
	for _, c := range []struct{ name, in, key, err string }{
		{"object key", "photos/x.jpg", "photos/x.jpg", ""},
		{"leading slash", "/photos/x.jpg", "photos/x.jpg", ""},
		{"surrounding space", "  photos/x.jpg\n", "photos/x.jpg", ""},
		{"escaped key", "photos/my%20cat.jpg", "photos/my cat.jpg", ""},
		{"escaped percent", "photos/100%25.jpg", "photos/100%.jpg", ""},
		{"plus is literal", "photos/a b+c.jpg", "photos/a b+c.jpg", ""},
		{"request target", cat, "photos/x.jpg", ""},
		{"signed URL", "https://img.example.com" + cat, "photos/x.jpg", ""},
		{"signed URL, escaped key, exp", "https://img.example.com" + spaced, "photos/my cat.jpg", ""},
		{"signed URL under a path prefix", "https://img.example.com/img/v2" + cat, "photos/x.jpg", ""},
		{"unsigned URL", "HTTPS://img.example.com/photos/x.jpg", "photos/x.jpg", ""},
		{"unsigned URL with parameters", "http://localhost:8080/photos/x.jpg?w=400", "photos/x.jpg", ""},
		{"URL with a fragment", "https://img.example.com" + cat + "#top", "photos/x.jpg", ""},

		{"empty segment", "/bad//key", "", "empty path segment"},
		{"dot-dot", "photos/../x.jpg", "", `".." path segment`},
		{"trailing slash", "photos/", "", "empty path segment"},
		{"empty", "", "", "empty object key"},
		{"only a slash", "/", "", "empty object key"},
		{"URL without a path", "https://img.example.com", "", "empty object key"},
		{"bad escaping", "photos/100%.jpg", "", "not valid percent-escaping"},
		{"escaped control byte", "photos/a%00b.jpg", "", "control byte"},
		{"too long", strings.Repeat("a", urlsig.MaxKeyLen+1), "", "more than 1024"},
		{"signed by another server", "https://img.example.com" + other, "", "matches no object key"},
		{"unknown parameter in a signed URL", "https://img.example.com" + strings.Replace(cat, "?", "?utm=1&", 1), "", "matches no object key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			key, err := ObjectKey(c.in, ring)
			if c.err == "" {
				if err != nil || key != c.key {
					t.Errorf("ObjectKey(%q) = %q, %v; want %q", c.in, key, err, c.key)
				}
				return
			}
			if !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ObjectKey(%q) = %q, %v; want an error saying %q", c.in, key, err, c.err)
			}
		})
	}
	// Without a ring a signed URL's whole path is the key.
	if key, err := ObjectKey("https://img.example.com/img"+cat, nil); key != "img/photos/x.jpg" || err != nil {
		t.Errorf("without a ring: %q, %v", key, err)
	}
}

// POST /purge answers 400 with the reason for a key that names no
// original, purging nothing; the object key it read and the number of
// variants otherwise; 500 when variants could not be removed.
func TestPurgeHandler(t *testing.T) {
	var got []string
	purgeErr := error(nil)
	h := Handler("127.0.0.1:0", http.NotFoundHandler(), func(key string) (int, error) {
		got = append(got, key)
		return 3, purgeErr
	}, testRing(t, 1), slog.New(slog.DiscardHandler))
	post := func(key string) (int, string) {
		req := httptest.NewRequest("POST", "/purge?key="+url.QueryEscape(key), nil)
		req.Host = "127.0.0.1:9090"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, string(b)
	}
	for _, bad := range []string{"/bad//key", "../x.jpg", "a%zz.jpg"} {
		if code, body := post(bad); code != 400 || !strings.HasPrefix(body, "invalid key: ") {
			t.Errorf("%q: %d %q", bad, code, body)
		}
	}
	if len(got) != 0 {
		t.Errorf("an invalid key reached the caches: %q", got)
	}
	code, body := post("/photos/my%20cat.jpg")
	var res PurgeResult
	if err := json.Unmarshal([]byte(body), &res); code != 200 || err != nil || res != (PurgeResult{"photos/my cat.jpg", 3}) {
		t.Errorf("purge: %d %q", code, body)
	}
	if len(got) != 1 || got[0] != "photos/my cat.jpg" {
		t.Errorf("purged %q", got)
	}
	purgeErr = errors.New("read-only file system")
	if code, body := post("photos/x.jpg"); code != 500 || !strings.Contains(body, "read-only file system") {
		t.Errorf("failed purge: %d %q", code, body)
	}
}
