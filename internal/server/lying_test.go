package server

import (
	"strconv"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
	"github.com/imgproxy-team/imgproxy/internal/testtools"
)

// Files whose header lies about their size, one or more per format the
// server reads: each is refused (or decoded at the size its header says)
// before any decoder allocates what the lie hides. The 1 KB AVIF whose
// ispe claims 100x100 over an 8000x8000 stream once raised the server's
// peak memory by 430 MB before a 422.
func TestLyingHeaders(t *testing.T) {
	s := newStack(t, func(o *stackOptions) { o.dir = t.TempDir() })
	for _, c := range []struct {
		key    string
		body   []byte
		status int
	}{
		{"avif-claims-100.avif", testimages.LyingAVIF(100, 100), 422},
		{"avif-claims-16000.avif", testimages.LyingAVIF(16000, 16000), 422},
		{"avif-honest-8000.avif", testimages.LyingAVIF(8000, 8000), 413},
		{"heic-claims-8000.heic", testimages.LyingHEIC(8000, 8000), 422},
		{"jpeg-claims-65000.jpg", testimages.JPEGBomb(65000, 65000), 413},
		{"png-idat-overflows.png", testimages.PNGOverflowingIDAT(64, 48, 2000), 200},
		{"gif-frame-beyond-screen.gif", testimages.GIFFrameBeyondScreen(9000, 9000), 413},
		{"webp-canvas-claims-less.webp", webpCanvas(t, webpBomb(t, encode(t, s.tr, params.FormatWebP)), 100, 100), 422},
		{"tiff-claims-60000.tif", testimages.TIFFBomb(60000, 60000), 413},
		{"jxl-claims-50000.jxl", testimages.JXLBomb(50000, 50000), 413},
	} {
		s.put(c.key, c.body)
		grew := testtools.PeakGrowth(t, func() {
			for _, w := range []string{"32", "48", "64"} {
				r := s.get(s.sign(c.key, "w", w))
				if r.status != c.status {
					t.Errorf("%s w=%s: %d %q, want %d", c.key, w, r.status, r.body, c.status)
				}
			}
		})
		// The documented budget of one transform of an allowed image is
		// far above this; the lie must not cost anything like a decode.
		if grew > 64<<20 {
			t.Errorf("%s: peak memory rose by %d MiB", c.key, grew>>20)
		}
	}
}

// webpCanvas sets an extended WebP's VP8X canvas to w x h, leaving the
// bitstream as it is.
func webpCanvas(t *testing.T, webp []byte, w, h int) []byte {
	t.Helper()
	if string(webp[12:16]) != "VP8X" {
		t.Fatal("not an extended WebP")
	}
	b := append([]byte(nil), webp...)
	d := b[20:]
	d[4], d[5], d[6] = byte(w-1), byte((w-1)>>8), 0
	d[7], d[8], d[9] = byte(h-1), byte((h-1)>>8), 0
	return b
}

// A flood of variants of one bad original costs one fetch: the verdict is
// remembered per original, and forgotten on purge.
func TestBadOriginalRemembered(t *testing.T) {
	s := newStack(t, nil)
	s.s3.Put(t, "bad.avif", testimages.LyingAVIF(100, 100))
	for i := range 20 {
		if r := s.get(s.sign("bad.avif", "w", strconv.Itoa(10+i))); r.status != 422 {
			t.Fatalf("variant %d: %d", i, r.status)
		}
	}
	if g := s.gets(); g != 1 {
		t.Errorf("20 variants of one bad original cost %d origin GETs, want 1", g)
	}
}
