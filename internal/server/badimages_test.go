package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/http"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
	"github.com/imgproxy-team/imgproxy/internal/transform"
)

// encode makes a real file of format f with libvips, to truncate or patch.
func encode(t *testing.T, tr *transform.Transformer, f params.Format) []byte {
	t.Helper()
	out, err := tr.Transform(context.Background(), testimages.JPEG(testimages.Quadrants(64, 48)),
		&params.Options{DPR: 100, Transform: true}, f)
	if err != nil {
		t.Fatal(err)
	}
	return out.Body
}

// webpBomb patches a lossy WebP's declared size (the VP8X canvas, when
// there is one, and the VP8 frame) to 16383 x 16383.
func webpBomb(t *testing.T, webp []byte) []byte {
	t.Helper()
	b := append([]byte(nil), webp...)
	patched := false
	for pos := 12; pos+8 <= len(b); {
		typ, n := string(b[pos:pos+4]), int(binary.LittleEndian.Uint32(b[pos+4:]))
		data := b[pos+8:]
		switch typ {
		case "VP8X": // flags (4), canvas width-1 and height-1 (3 bytes each)
			copy(data[4:10], []byte{0xfe, 0x3f, 0, 0xfe, 0x3f, 0})
		case "VP8 ": // frame tag (3), start code (3), width and height (2 each)
			if !bytes.Equal(data[3:6], []byte{0x9d, 0x01, 0x2a}) {
				t.Fatal("no VP8 start code")
			}
			binary.LittleEndian.PutUint16(data[6:], 16383)
			binary.LittleEndian.PutUint16(data[8:], 16383)
			patched = true
		}
		pos += 8 + n + n%2
	}
	if !patched {
		t.Fatal("no lossy frame to patch")
	}
	return b
}

// A corpus of bad originals: each gets a precise 4xx, never a 5xx, panic
// or hang, and memory stays within bounds.
func TestBadImages(t *testing.T) {
	s := newStack(t, nil)
	half := func(b []byte) []byte { return b[:len(b)/2] }
	jpg := testimages.JPEG(testimages.Quadrants(64, 48))
	png := encode(t, s.tr, params.FormatPNG)
	webp := encode(t, s.tr, params.FormatWebP)
	avif := encode(t, s.tr, params.FormatAVIF)
	gif := encode(t, s.tr, params.FormatGIF)
	corpus := []struct {
		key    string
		body   []byte
		status int
	}{
		{"truncated.jpg", half(jpg), 422},
		{"truncated-tail.jpg", jpg[:len(jpg)-2], 422},
		{"truncated.png", half(png), 422},
		{"truncated.webp", half(webp), 422},
		{"truncated.avif", half(avif), 422},
		{"truncated.gif", half(gif), 422},
		{"zero.jpg", nil, 415},
		{"text.jpg", []byte("just some text\n"), 415},
		{"page.png", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), 415},
		{"pdf.jpg", []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"), 415},
		{"script.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>`), 415},
		{"bomb.png", testimages.PNGBomb(50000, 50000), 413},
		{"bomb.jpg", testimages.JPEGBomb(65000, 65000), 413},
		{"bomb.gif", testimages.GIFBomb(65535, 65535), 413},
		{"bomb.webp", webpBomb(t, webp), 413},
		{"frames.gif", testimages.AnimatedGIF(4, 4, 3000), 413},
	}
	for _, c := range corpus {
		s.s3.Put(t, c.key, c.body)
	}
	before := rss(t)
	for _, c := range corpus {
		for _, p := range [][]string{{"w", "32"}, {"w", "32", "fm", "webp"}, nil} {
			r := s.get(s.sign(c.key, p...))
			want := c.status
			if p == nil && c.status == 413 {
				want = 200 // the original, unmodified, decodes nothing: no pixel limit applies
			}
			if r.status != want {
				t.Errorf("%s %v: %d %q, want %d", c.key, p, r.status, r.body, want)
			}
		}
	}
	if grew := rss(t) - before; grew > 100<<20 {
		t.Errorf("RSS grew by %d MiB over the corpus", grew>>20)
	}
	if r := s.get("/healthz"); r.status != http.StatusOK {
		t.Error("server unhealthy after the corpus")
	}
}

// SVG is rasterised when allowed, and still never served as SVG.
func TestSVGAllowed(t *testing.T) {
	s := newStack(t, func(o *stackOptions) { o.allowSVG = true })
	s.s3.Put(t, "logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50"><rect width="100" height="50" fill="red"/></svg>`))
	r := s.get(s.sign("logo.svg", "w", "40"))
	if r.status != 200 || r.header.Get("Content-Type") != "image/png" {
		t.Errorf("rasterised: %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	if _, w, h := measure(t, r); w != 40 || h != 20 {
		t.Errorf("rasterised to %dx%d", w, h)
	}
	// Without parameters: rasterised at its own size, never served as SVG.
	r = s.get(s.sign("logo.svg"))
	if r.status != 200 || r.header.Get("Content-Type") != "image/png" {
		t.Fatalf("without parameters: %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	if _, w, h := measure(t, r); w != 100 || h != 50 {
		t.Errorf("without parameters: %dx%d, want its own 100x50", w, h)
	}
	// Vectors scale: w=100 on a 10x10 drawing renders it 100 wide, without
	// enlarge (the no-enlarge rule is for pixels).
	s.s3.Put(t, "icon.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle cx="5" cy="5" r="5"/></svg>`))
	if _, w, h := measure(t, s.get(s.sign("icon.svg", "w", "100"))); w != 100 || h != 100 {
		t.Errorf("w=100 on a 10x10 SVG: %dx%d", w, h)
	}
}
