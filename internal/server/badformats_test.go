package server

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/testimages"
	"github.com/imgproxy-team/imgproxy/internal/testtools"
)

// The new sources' bad inputs: each a precise 4xx (or, where the damage
// is harmless, the image), never a 5xx, a hang or unbounded memory.
func TestBadNewSources(t *testing.T) {
	s := newStack(t, func(o *stackOptions) { o.dir = t.TempDir() })
	heic := heicFrom(t, testimages.JPEG(testimages.Photo(120, 80)))
	// The HEVC stream's first NAL unit claims more bytes than the item
	// holds; the container is intact. (libde265 decodes garbled slice data
	// into garbled pixels without complaint: that is not detectable.)
	broken := bytes.Clone(heic)
	i := bytes.Index(broken, []byte("mdat"))
	if i < 0 {
		t.Fatal("no mdat")
	}
	copy(broken[i+4:], []byte{0x7F, 0xFF, 0xFF, 0xFF})
	anim := testimages.QuadrantAnimation(80, 60, 0)
	jpg := testimages.JPEG(testimages.Photo(64, 48))
	// A JPEG XL codestream has no end mark: cut, it passes the structure
	// check, and libjxl must refuse it.
	jxl := jxlFrom(t, testimages.PNG(testimages.Photo(120, 80)), "png", "-d", "1")
	garbled := bytes.Clone(jxl)
	for i := 8; i < len(garbled); i++ {
		garbled[i] ^= 0x5A
	}
	icc := append([]byte("ICC_PROFILE\x00\x01\x01"), bytes.Repeat([]byte("garbage!"), 50)...)
	badICC := append(append(append([]byte{}, jpg[:2]...), 0xFF, 0xE2, byte((len(icc)+2)>>8), byte(len(icc)+2)), icc...)
	badICC = append(badICC, jpg[2:]...)
	for _, c := range []struct {
		key    string
		body   []byte
		fm     string
		status int
	}{
		{"broken-hevc.heic", broken, "jpg", 422},
		{"truncated-anim.gif", anim[:len(anim)*2/3], "gif", 422},
		{"over-frame-limit.gif", testimages.AnimatedGIF(4, 4, 1001), "gif", 413},
		{"over-animation-pixels.gif", testimages.GIFFrames(6000, 6000, 3), "gif", 413}, // 108 megapixels
		{"over-animation-pixels-as-webp.gif", testimages.GIFFrames(6000, 6000, 3), "webp", 413},
		{"tiny-screen-huge-frame.gif", testimages.GIFFrameBeyondScreen(9000, 9000), "webp", 413},
		{"garbage-icc.jpg", badICC, "webp", 200}, // the profile is ignored, the pixels served
		{"truncated.jxl", jxl[:len(jxl)/2], "jpg", 422},
		{"garbled.jxl", garbled, "jpg", 422},
		{"over-pixel-limit.jxl", testimages.JXLBomb(9000, 9000), "jpg", 413},
	} {
		s.put(c.key, c.body)
		grew := testtools.PeakGrowth(t, func() {
			r := s.get(s.sign(c.key, "fm", c.fm, "w", "40"))
			if r.status != c.status {
				t.Errorf("%s as %s: %d %q, want %d", c.key, c.fm, r.status, r.body, c.status)
			}
		})
		if grew > 64<<20 {
			t.Errorf("%s: peak memory rose by %d MiB", c.key, grew>>20)
		}
	}
	if r := s.get("/healthz"); r.status != http.StatusOK {
		t.Error("unhealthy after the bad inputs")
	}
}
