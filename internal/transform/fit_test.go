package transform

import (
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/params"
)

// TestFitTable runs every fit mode with w only, h only and both, boxes
// smaller and larger than a 768x512 source and of other aspect ratios,
// with and without enlarge, through libvips, and measures the output with
// Go's own JPEG decoder against sizes worked out here from the contract:
//   - w or h alone: scale to it, keeping the aspect ratio (never past 1
//     without enlarge);
//   - inside / outside: the largest / smallest scale that fits within /
//     covers the box, never past 1 without enlarge;
//   - cover / contain / fill: the box itself, shrunk (keeping its aspect
//     ratio) to fit within the source without enlarge.
func TestFitTable(t *testing.T) {
	tr := newTransformer(t)
	const sw, sh = 768, 512
	src := encodeJPEG(t, quadrants(sw, sh))
	roundHalfUp := func(f float64) int { return int(f + 0.5) }
	want := func(w, h int, fit params.Fit, enlarge bool) (int, int) {
		switch {
		case h == 0:
			s := float64(w) / sw
			if !enlarge && s > 1 {
				s = 1
			}
			return roundHalfUp(sw * s), roundHalfUp(sh * s)
		case w == 0:
			s := float64(h) / sh
			if !enlarge && s > 1 {
				s = 1
			}
			return roundHalfUp(sw * s), roundHalfUp(sh * s)
		}
		sx, sy := float64(w)/sw, float64(h)/sh
		switch fit {
		case params.FitInside, params.FitOutside:
			s := sx
			if (fit == params.FitInside) == (sy < sx) {
				s = sy
			}
			if !enlarge && s > 1 {
				return sw, sh
			}
			return roundHalfUp(sw * s), roundHalfUp(sh * s)
		}
		if !enlarge && (w > sw || h > sh) {
			f := float64(sw) / float64(w)
			if g := float64(sh) / float64(h); g < f {
				f = g
			}
			return roundHalfUp(float64(w) * f), roundHalfUp(float64(h) * f)
		}
		return w, h
	}
	boxes := [][2]int{{800, 600}, {1000, 100}, {100, 1000}, {384, 256}, {200, 300}, {1536, 1024}, {768, 512}, {300, 0}, {1200, 0}, {0, 256}, {0, 1000}}
	fits := []params.Fit{params.FitCover, params.FitContain, params.FitFill, params.FitInside, params.FitOutside}
	for _, b := range boxes {
		for _, fit := range fits {
			for _, enlarge := range []bool{false, true} {
				w, h := b[0], b[1]
				if (w == 0 || h == 0) && fit != params.FitCover {
					continue // one side alone: the fit mode does not apply
				}
				ww, wh := want(w, h, fit, enlarge)
				if ww > 8192 || wh > 8192 {
					continue
				}
				o := opts(func(o *params.Options) { o.Width, o.Height, o.Fit, o.Enlarge = w, h, fit, enlarge })
				d := run(t, tr, src, o, params.FormatJPEG)
				if d.img == nil || d.width != ww || d.height != wh {
					t.Errorf("%dx%d %s enlarge=%v: got %dx%d, want %dx%d", w, h, fit, enlarge, d.width, d.height, ww, wh)
				}
			}
		}
	}
}
