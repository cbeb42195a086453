// Package geometry owns the one rule for how large a transformed image is:
// the fit modes of the URL contract applied to a source size and a box. The
// server's transform plans its resize with it, and the signer uses it to
// promise the width and height of what a URL returns, so the two cannot
// drift apart. It is pure Go, so the signer builds without cgo.
package geometry

import (
	"math"

	"github.com/imgproxy-team/imgproxy/internal/params"
)

// Box is the size to resize to, and the size of the output.
type Box struct {
	ResizeW, ResizeH int
	OutW, OutH       int
}

// Fit applies the fit mode to a source of sw x sh for a box of w x h
// pixels (0: not given). Without enlarge the image is never scaled past 1.
// For inside and outside, whose output keeps the source's aspect ratio,
// that is the whole rule. For cover, contain and fill, whose output has
// the box's aspect ratio, a box larger than the source is first shrunk,
// keeping its aspect ratio, until it fits within the source.
func Fit(sw, sh, w, h int, fit params.Fit, enlarge bool) Box {
	scaleTo := func(s float64) (int, int) {
		return max(1, Round(float64(sw)*s)), max(1, Round(float64(sh)*s))
	}
	switch {
	case w == 0 && h == 0:
		return Box{sw, sh, sw, sh}
	case h == 0 || w == 0:
		s := float64(w) / float64(sw)
		if w == 0 {
			s = float64(h) / float64(sh)
		}
		if !enlarge {
			s = math.Min(s, 1)
		}
		rw, rh := scaleTo(s)
		return Box{rw, rh, rw, rh}
	}

	if fit == params.FitInside || fit == params.FitOutside {
		return aspectFit(sw, sh, w, h, fit == params.FitInside, enlarge)
	}
	if !enlarge {
		f := math.Min(1, math.Min(float64(sw)/float64(w), float64(sh)/float64(h)))
		if f < 1 {
			w, h = max(1, Round(float64(w)*f)), max(1, Round(float64(h)*f))
		}
	}
	sx, sy := float64(w)/float64(sw), float64(h)/float64(sh)
	switch fit {
	case params.FitFill:
		return Box{w, h, w, h}
	case params.FitContain:
		rw, rh := scaleTo(math.Min(sx, sy))
		return Box{min(rw, w), min(rh, h), w, h}
	}
	// cover
	rw, rh := scaleTo(math.Max(sx, sy))
	return Box{max(rw, w), max(rh, h), w, h}
}

// aspectFit scales a source of sw x sh to fit within (inside) or around
// (outside) a box of w x h, keeping its aspect ratio; without enlarge the
// scale stops at 1, so an image that already fits is left as it is.
func aspectFit(sw, sh, w, h int, inside, enlarge bool) Box {
	sx, sy := float64(w)/float64(sw), float64(h)/float64(sh)
	s := math.Max(sx, sy)
	if inside {
		s = math.Min(sx, sy)
	}
	if !enlarge && s >= 1 {
		return Box{sw, sh, sw, sh}
	}
	rw, rh := max(1, Round(float64(sw)*s)), max(1, Round(float64(sh)*s))
	// Rounding must not cross the box's edge the scale was chosen for.
	if inside {
		rw, rh = min(rw, w), min(rh, h)
	} else {
		rw, rh = max(rw, w), max(rh, h)
	}
	return Box{rw, rh, rw, rh}
}

// Output returns the size of the image a URL with options o returns for a
// source of sw x sh (after EXIF orientation): rot turns the source before
// the box applies, as the server does.
func Output(sw, sh int, o *params.Options) (w, h int) {
	if o.Rotate == 90 || o.Rotate == 270 {
		sw, sh = sh, sw
	}
	b := Fit(sw, sh, o.PixelWidth(), o.PixelHeight(), o.Fit, o.Enlarge)
	return b.OutW, b.OutH
}

// Round rounds half up.
func Round(f float64) int { return int(math.Floor(f + 0.5)) }
