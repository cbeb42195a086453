package server

import (
	"bytes"
	"image/gif"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// An animated GIF stays animated through the server: as gif, as webp, and
// with auto=format for a browser that accepts AVIF (which would keep one
// frame); as jpg it is the first frame.
func TestAnimationServed(t *testing.T) {
	s := newStack(t, func(o *stackOptions) { o.dir = t.TempDir() })
	s.put("anim.gif", testimages.QuadrantAnimation(80, 60, 0))
	r := s.get(s.sign("anim.gif", "w", "40"))
	g, err := gif.DecodeAll(bytes.NewReader(r.body))
	if r.status != 200 || err != nil || len(g.Image) != 3 || g.Config.Width != 40 {
		t.Fatalf("gif: %d %v", r.status, err)
	}
	r = s.get(s.sign("anim.gif", "auto", "format", "w", "40"), "Accept", "image/avif,image/webp,*/*")
	if r.status != 200 || r.header.Get("Content-Type") != "image/webp" || !bytes.Contains(r.body, []byte("ANMF")) {
		t.Errorf("auto=format: %d %q, animated %v", r.status, r.header.Get("Content-Type"), bytes.Contains(r.body, []byte("ANMF")))
	}
	r = s.get(s.sign("anim.gif", "fm", "jpg", "w", "40"))
	if f, w, h := measure(t, r); r.status != 200 || f.String() != "jpeg" || w != 40 || h != 30 {
		t.Errorf("jpg: %d %v %dx%d", r.status, f, w, h)
	}
}
