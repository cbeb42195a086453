package server

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/admin"
	"github.com/imgproxy-team/imgproxy/internal/imagefmt"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

func entryFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "entries", "*", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Restart warm: a new server on yesterday's cache directory serves every
// variant from disk without one origin request (counted on the S3 side).
func TestRestartWarm(t *testing.T) {
	dir := t.TempDir()
	a := newStack(t, func(o *stackOptions) { o.diskDir = dir })
	a.fixtures()
	var urls []string
	for _, w := range []string{"50", "100", "150"} {
		for _, fm := range []string{"webp", "jpg"} {
			urls = append(urls, a.sign("photo.jpg", "w", w, "fm", fm))
		}
	}
	bodies := map[string][]byte{}
	for _, u := range urls {
		r := a.get(u)
		if r.status != 200 || r.header.Get("X-Cache") != "miss" {
			t.Fatalf("first run: %d %s", r.status, r.header.Get("X-Cache"))
		}
		bodies[u] = r.body
	}
	a.close()

	bucket := a.s3
	b := newStack(t, func(o *stackOptions) { o.diskDir, o.s3 = dir, &bucket })
	for _, u := range urls {
		r := b.get(u)
		if r.status != 200 || r.header.Get("X-Cache") != "disk" || string(r.body) != string(bodies[u]) {
			t.Errorf("after restart: %d, X-Cache %q, same bytes %v", r.status, r.header.Get("X-Cache"), string(r.body) == string(bodies[u]))
		}
	}
	if g := b.gets(); g != 0 {
		t.Errorf("restarted server made %d origin requests", g)
	}
	// Promoted to memory on the way.
	if r := b.get(urls[0]); r.header.Get("X-Cache") != "memory" {
		t.Errorf("second request after restart: %q", r.header.Get("X-Cache"))
	}
	b.disk.WaitScanned()
	if s := b.disk.Stats(); s.Entries != len(urls) {
		t.Errorf("index rebuilt with %d entries, want %d", s.Entries, len(urls))
	}
}

// A flipped byte and a truncated file are detected, counted, and refilled
// from the origin; the client gets the correct image.
func TestCorruptEntriesRefilled(t *testing.T) {
	for _, damage := range []struct {
		name string
		f    func([]byte) []byte
	}{
		{"flipped byte", func(b []byte) []byte { b[len(b)/2] ^= 0x10; return b }},
		{"truncated", func(b []byte) []byte { return b[:len(b)*2/3] }},
	} {
		t.Run(damage.name, func(t *testing.T) {
			dir := t.TempDir()
			a := newStack(t, func(o *stackOptions) { o.diskDir = dir })
			a.fixtures()
			u := a.sign("photo.jpg", "w", "120", "fm", "png")
			if r := a.get(u); r.status != 200 {
				t.Fatal(r.status)
			}
			a.close()
			files := entryFiles(t, dir)
			if len(files) != 1 {
				t.Fatalf("%d entry files", len(files))
			}
			raw, _ := os.ReadFile(files[0])
			os.WriteFile(files[0], damage.f(raw), 0o644)

			bucket := a.s3
			b := newStack(t, func(o *stackOptions) { o.diskDir, o.s3 = dir, &bucket })
			r := b.get(u)
			if r.status != 200 || r.header.Get("X-Cache") != "miss" || b.gets() != 1 {
				t.Fatalf("%d X-Cache %q, %d GETs", r.status, r.header.Get("X-Cache"), b.gets())
			}
			if f, w, h := measure(t, r); f != imagefmt.PNG || w != 120 || h != 90 {
				t.Errorf("refilled image: %v %dx%d", f, w, h)
			}
			if s := b.disk.Stats(); s.Corrupt != 1 {
				t.Errorf("corrupt count %d", s.Corrupt)
			}
			// Rewritten whole: a third server reads it from disk.
			b.close()
			c := newStack(t, func(o *stackOptions) { o.diskDir, o.s3 = dir, &bucket })
			if r := c.get(u); r.header.Get("X-Cache") != "disk" || c.gets() != 0 {
				t.Errorf("after refill: X-Cache %q", r.header.Get("X-Cache"))
			}
		})
	}
}

// With the memory tier off, a disk hit is read and checked the first time
// and sent from its file after: the same bytes and headers over real HTTP,
// HEAD without a body, and a file damaged under the running server (a new
// size and time) is caught and refilled, not sent.
func TestDiskOnlyHitsFromTheFile(t *testing.T) {
	dir := t.TempDir()
	s := newStack(t, func(o *stackOptions) { o.diskDir, o.memory = dir, 0 })
	s.fixtures()
	u := s.sign("photo.jpg", "w", "300", "fm", "webp")
	first := s.get(u)
	if first.status != 200 || first.header.Get("X-Cache") != "miss" {
		t.Fatalf("first: %d %q", first.status, first.header.Get("X-Cache"))
	}
	for i := range 3 { // read and checked, then from the file twice
		r := s.get(u)
		if r.status != 200 || r.header.Get("X-Cache") != "disk" || string(r.body) != string(first.body) ||
			r.header.Get("Content-Length") != strconv.Itoa(len(first.body)) || r.header.Get("ETag") != first.header.Get("ETag") ||
			r.header.Get("Content-Type") != "image/webp" {
			t.Fatalf("hit %d: %d %q, %d bytes (Content-Length %s), ETag %q", i, r.status, r.header.Get("X-Cache"),
				len(r.body), r.header.Get("Content-Length"), r.header.Get("ETag"))
		}
	}
	if r := s.do(http.MethodHead, u); r.status != 200 || len(r.body) != 0 || r.header.Get("Content-Length") != strconv.Itoa(len(first.body)) {
		t.Errorf("HEAD: %d, %d bytes, Content-Length %s", r.status, len(r.body), r.header.Get("Content-Length"))
	}
	if r := s.get(u, "If-None-Match", first.header.Get("ETag")); r.status != 304 || len(r.body) != 0 {
		t.Errorf("revalidation: %d, %d bytes", r.status, len(r.body))
	}

	files := entryFiles(t, dir)
	raw, _ := os.ReadFile(files[0])
	os.WriteFile(files[0], raw[:len(raw)-10], 0o644) // in place: the same inode
	r := s.get(u)
	if r.status != 200 || r.header.Get("X-Cache") != "miss" {
		t.Fatalf("after damage: %d %q", r.status, r.header.Get("X-Cache"))
	}
	if f, w, _ := measure(t, r); f != imagefmt.WebP || w != 300 {
		t.Errorf("refilled: %v %d wide", f, w)
	}
	if c := s.disk.Stats().Corrupt; c != 1 {
		t.Errorf("corrupt count %d", c)
	}
}

// Purge through the admin listener removes every variant of one original
// from both tiers, and none of another's; it reads the key from a signed
// URL, counts each variant once, and refuses an invalid key.
func TestPurge(t *testing.T) {
	dir := t.TempDir()
	s := newStack(t, func(o *stackOptions) { o.diskDir = dir })
	s.s3.Put(t, "cat.jpg", testimages.JPEG(testimages.Quadrants(200, 100)))
	s.s3.Put(t, "dog.jpg", testimages.JPEG(testimages.Quadrants(100, 200)))
	var cat, dog []string
	for _, w := range []string{"10", "20", "30"} {
		cat = append(cat, s.sign("cat.jpg", "w", w))
		dog = append(dog, s.sign("dog.jpg", "w", w))
	}
	for _, u := range append(append([]string{}, cat...), dog...) {
		if r := s.get(u); r.status != 200 {
			t.Fatal(r.status)
		}
	}
	adm := httptest.NewServer(admin.Handler("127.0.0.1:0", http.NotFoundHandler(), func(key string) (int, error) {
		s.shared.Forget(key)
		return s.cache.Purge(key)
	}, s.signer.Ring, slog.New(slog.DiscardHandler)))
	defer adm.Close()
	purge := func(key string) (int, admin.PurgeResult) {
		res, err := http.Post(adm.URL+"/purge?key="+url.QueryEscape(key), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out admin.PurgeResult
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	for _, bad := range []string{"/bad//key", "cat.jpg/..", "https://img.example.com/"} {
		if code, _ := purge(bad); code != 400 {
			t.Errorf("purge %q: %d", bad, code)
		}
	}
	// Three variants, each in memory and on disk, pasted as a CDN URL
	// with a route before the key.
	if code, out := purge("https://img.example.com/images" + cat[1]); code != 200 || out != (admin.PurgeResult{Key: "cat.jpg", Variants: 3}) {
		t.Errorf("purge: %d, %+v", code, out)
	}
	if len(entryFiles(t, dir)) != 3 {
		t.Errorf("%d entry files left, want dog's 3", len(entryFiles(t, dir)))
	}
	before := s.gets()
	for _, u := range cat {
		if r := s.get(u); r.header.Get("X-Cache") != "miss" {
			t.Errorf("purged variant: X-Cache %q", r.header.Get("X-Cache"))
		}
	}
	for _, u := range dog {
		if r := s.get(u); r.header.Get("X-Cache") != "memory" {
			t.Errorf("other original: X-Cache %q", r.header.Get("X-Cache"))
		}
	}
	if g := s.gets() - before; g != 1 {
		t.Errorf("refilling cat cost %d GETs, want 1", g)
	}
	if res, _ := http.Get(adm.URL + "/purge?key=cat.jpg"); res.StatusCode != 405 {
		t.Errorf("GET /purge: %d", res.StatusCode)
	}
}

// The cache directory breaking mid-run does not fail a request; /readyz
// says so; when it is back, the tier writes again.
func TestDiskFaultMidRun(t *testing.T) {
	dir := t.TempDir()
	s := newStack(t, func(o *stackOptions) { o.diskDir = dir })
	s.fixtures()
	if r := s.get(s.sign("photo.jpg", "w", "11")); r.status != 200 {
		t.Fatal(r.status)
	}
	// Root ignores permissions: a file where the directory was breaks it.
	os.RemoveAll(dir)
	os.WriteFile(dir, []byte("not a directory"), 0o644)
	for i := 0; i < 5; i++ {
		if r := s.get(s.sign("photo.jpg", "w", strconv.Itoa(20+i))); r.status != 200 {
			t.Errorf("request during the fault: %d %s", r.status, r.body)
		}
	}
	if r := s.get(s.sign("photo.jpg", "w", "11")); r.status != 200 {
		t.Errorf("cached variant during the fault: %d", r.status)
	}
	if r := s.get("/readyz"); r.status != 503 {
		t.Errorf("/readyz during the fault: %d", r.status)
	}
	if st := s.disk.Stats(); !st.Degraded || st.WriteErrors == 0 {
		t.Errorf("disk stats: %+v", st)
	}
	os.Remove(dir)
	if r := s.get("/readyz"); r.status != 200 {
		t.Errorf("/readyz after the fault: %d", r.status)
	}
}
