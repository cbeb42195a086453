package server

import (
	"bytes"
	"image"
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/imagefmt"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// fixtures uploads the originals the tests use, through the SDK.
func (s *stack) fixtures() {
	s.t.Helper()
	jpg := testimages.JPEG(testimages.Quadrants(400, 300))
	for key, body := range map[string][]byte{
		"photo.jpg":          jpg,
		"Fotos/Straße 1.jpg": jpg,
		"a/b+c (1).jpg":      jpg,
		"alpha.png":          testimages.PNG(testimages.Quadrants(200, 100)),
		"oriented.jpg":       testimages.WithOrientation(jpg, 6),
		"truncated.jpg":      jpg[:len(jpg)/2],
		"page.jpg":           []byte("<!doctype html><title>not an image</title>"),
		"empty.jpg":          {},
		"bomb.png":           testimages.PNGBomb(50000, 50000),
		"script.svg":         []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`),
	} {
		s.s3.Put(s.t, key, body)
	}
}

// measure decodes an image response: format by its bytes, and dimensions.
func measure(t *testing.T, r response) (imagefmt.Format, int, int) {
	t.Helper()
	f := imagefmt.Sniff(r.body)
	info, err := imagefmt.Inspect(r.body, f)
	if err != nil {
		t.Fatalf("response is not a complete image: %v", err)
	}
	if img, _, err := image.Decode(bytes.NewReader(r.body)); err == nil {
		if b := img.Bounds(); b.Dx() != info.Width || b.Dy() != info.Height {
			t.Fatalf("Go decodes %dx%d, header says %dx%d", b.Dx(), b.Dy(), info.Width, info.Height)
		}
	}
	return f, info.Width, info.Height
}

// Every parameter of the contract, over HTTP, from versitygw: the output's
// format and dimensions are what the README's URL contract says.
func TestParameters(t *testing.T) {
	s := newStack(t, nil)
	s.fixtures()
	for _, c := range []struct {
		name   string
		key    string
		params []string
		accept string
		format imagefmt.Format
		w, h   int
	}{
		{"original bytes", "photo.jpg", nil, "", imagefmt.JPEG, 400, 300},
		{"w", "photo.jpg", []string{"w", "200"}, "", imagefmt.JPEG, 200, 150},
		{"h", "photo.jpg", []string{"h", "150"}, "", imagefmt.JPEG, 200, 150},
		{"dpr", "photo.jpg", []string{"w", "100", "dpr", "2"}, "", imagefmt.JPEG, 200, 150},
		{"cover", "photo.jpg", []string{"w", "100", "h", "100", "fit", "cover"}, "", imagefmt.JPEG, 100, 100},
		{"contain", "photo.jpg", []string{"w", "100", "h", "100", "fit", "contain"}, "", imagefmt.JPEG, 100, 100},
		{"fill", "photo.jpg", []string{"w", "100", "h", "50", "fit", "fill"}, "", imagefmt.JPEG, 100, 50},
		{"inside", "photo.jpg", []string{"w", "100", "h", "100", "fit", "inside"}, "", imagefmt.JPEG, 100, 75},
		{"outside", "photo.jpg", []string{"w", "100", "h", "100", "fit", "outside"}, "", imagefmt.JPEG, 133, 100},
		{"position", "photo.jpg", []string{"w", "100", "h", "100", "position", "top"}, "", imagefmt.JPEG, 100, 100},
		{"smart", "photo.jpg", []string{"w", "100", "h", "100", "position", "smart"}, "", imagefmt.JPEG, 100, 100},
		{"no enlarge", "photo.jpg", []string{"w", "800"}, "", imagefmt.JPEG, 400, 300},
		{"enlarge", "photo.jpg", []string{"w", "800", "enlarge", "1"}, "", imagefmt.JPEG, 800, 600},
		{"fm jpg", "alpha.png", []string{"fm", "jpg", "w", "100"}, "", imagefmt.JPEG, 100, 50},
		{"fm png", "photo.jpg", []string{"fm", "png", "w", "100"}, "", imagefmt.PNG, 100, 75},
		{"fm webp", "photo.jpg", []string{"fm", "webp", "w", "100"}, "", imagefmt.WebP, 100, 75},
		{"fm avif", "photo.jpg", []string{"fm", "avif", "w", "100"}, "", imagefmt.AVIF, 100, 75},
		{"fm gif", "photo.jpg", []string{"fm", "gif", "w", "100"}, "", imagefmt.GIF, 100, 75},
		{"default keeps png", "alpha.png", []string{"w", "100"}, "", imagefmt.PNG, 100, 50},
		{"auto avif", "photo.jpg", []string{"auto", "format", "w", "100"}, "image/avif,image/webp,*/*", imagefmt.AVIF, 100, 75},
		{"auto webp", "photo.jpg", []string{"auto", "format", "w", "100"}, "image/webp,*/*", imagefmt.WebP, 100, 75},
		{"auto fallback", "photo.jpg", []string{"auto", "format", "w", "100", "fm", "png"}, "*/*", imagefmt.PNG, 100, 75},
		{"q", "photo.jpg", []string{"w", "100", "q", "20"}, "", imagefmt.JPEG, 100, 75},
		{"blur", "photo.jpg", []string{"w", "100", "blur", "2"}, "", imagefmt.JPEG, 100, 75},
		{"sharpen", "photo.jpg", []string{"w", "100", "sharpen", "1.5"}, "", imagefmt.JPEG, 100, 75},
		{"rot", "photo.jpg", []string{"w", "100", "rot", "90"}, "", imagefmt.JPEG, 100, 133},
		{"flip", "photo.jpg", []string{"w", "100", "flip", "hv"}, "", imagefmt.JPEG, 100, 75},
		{"bg", "photo.jpg", []string{"w", "100", "h", "100", "fit", "contain", "bg", "ff0000"}, "", imagefmt.JPEG, 100, 100},
		{"v", "photo.jpg", []string{"w", "100", "v", "abc"}, "", imagefmt.JPEG, 100, 75},
		{"exp", "photo.jpg", []string{"w", "100", "exp", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)}, "", imagefmt.JPEG, 100, 75},
		{"exif orientation", "oriented.jpg", []string{"w", "150"}, "", imagefmt.JPEG, 150, 200},
		{"escaped key", "Fotos/Straße 1.jpg", []string{"w", "40"}, "", imagefmt.JPEG, 40, 30},
		{"reserved characters", "a/b+c (1).jpg", []string{"w", "40"}, "", imagefmt.JPEG, 40, 30},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.get(s.sign(c.key, c.params...), "Accept", c.accept)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			f, w, h := measure(t, r)
			if f != c.format || w != c.w || h != c.h {
				t.Errorf("got %v %dx%d, want %v %dx%d", f, w, h, c.format, c.w, c.h)
			}
			if ct := r.header.Get("Content-Type"); ct != f.ContentType() {
				t.Errorf("Content-Type %q for %v", ct, f)
			}
		})
	}
}

// The original bytes, unmodified, when the URL has no parameters.
func TestOriginalBytes(t *testing.T) {
	s := newStack(t, nil)
	body := testimages.JPEG(testimages.Quadrants(64, 64))
	s.s3.Put(t, "o.jpg", body)
	r := s.get(s.sign("o.jpg"))
	if r.status != 200 || !bytes.Equal(r.body, body) || r.header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("status %d, %d bytes, %q", r.status, len(r.body), r.header.Get("Content-Type"))
	}
}

func TestCoalescing(t *testing.T) {
	s := newStack(t, nil)
	s.fixtures()
	// Ten concurrent requests for one new variant: one GET, one transform.
	before, done := s.gets(), s.tr.Stats().Done
	u := s.sign("photo.jpg", "w", "123")
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := s.get(u); r.status != 200 {
				t.Errorf("status %d", r.status)
			}
		}()
	}
	wg.Wait()
	if g, d := s.gets()-before, s.tr.Stats().Done-done; g != 1 || d != 1 {
		t.Errorf("10 concurrent requests: %d GETs, %d transforms; want 1 and 1", g, d)
	}
	// Four variants of one new original, together (a srcset): one GET.
	s.s3.Put(t, "fresh.jpg", testimages.JPEG(testimages.Quadrants(400, 300)))
	before = s.gets()
	for _, w := range []string{"100", "200", "300", "400"} {
		wg.Add(1)
		go func(w string) {
			defer wg.Done()
			if r := s.get(s.sign("fresh.jpg", "w", w)); r.status != 200 {
				t.Errorf("w=%s: %d", w, r.status)
			}
		}(w)
	}
	wg.Wait()
	if g := s.gets() - before; g != 1 {
		t.Errorf("4 variants of one original: %d GETs, want 1", g)
	}
}

// A forged, reordered, stray-parameter or expired URL costs nothing: no
// origin request, no transform.
func TestRefusedURLsCostNothing(t *testing.T) {
	s := newStack(t, nil)
	s.fixtures()
	good := s.sign("photo.jpg", "w", "100", "fm", "webp")
	sigAt := strings.Index(good, "&s=") + 3
	forged := good[:sigAt] + "A" + good[sigAt+1:]
	if forged == good {
		forged = good[:sigAt] + "B" + good[sigAt+1:]
	}
	expired := s.sign("photo.jpg", "w", "100", "exp", "1000")
	before := s.gets()
	for _, c := range []struct {
		path   string
		status int
	}{
		{forged, 403},
		{strings.Replace(good, "fm=webp&w=100", "w=100&fm=webp", 1), 400},
		{strings.Replace(good, "&s=", "&r=123&s=", 1), 400},
		{good + "&r=123", 400},
		{strings.Split(good, "&s=")[0], 403},
		{expired, 410},
		{strings.Replace(good, "photo", "phot%6F", 1), 400},
	} {
		if r := s.get(c.path); r.status != c.status {
			t.Errorf("%s: %d, want %d (%s)", c.path, r.status, c.status, r.body)
		}
	}
	if g := s.gets() - before; g != 0 || s.tr.Stats().Done != 0 {
		t.Errorf("refused URLs caused %d origin GETs and %d transforms", g, s.tr.Stats().Done)
	}
}
