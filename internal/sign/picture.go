package sign

import (
	"errors"
	"fmt"
	"html"
	"slices"
	"strconv"
	"strings"

	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// PictureOptions are the attributes of <picture> markup besides the URLs.
type PictureOptions struct {
	Widths []int  // srcset widths in CSS pixels; empty for a single URL
	Sizes  string // the sizes attribute; empty derives it from w
	Alt    string
	// Original, when the original was looked up at the origin, gives
	// <img> the width and height of the image it shows, descriptors the
	// widths the server returns, and a placeholder (style) when it has one.
	Original *Original
}

// Picture returns <picture> markup: an AVIF <source>, a WebP <source>, and
// an <img> fallback in the original's format (no fm), each with the same
// candidates.
//
// The markup must draw the image at the size asked for on every screen.
// A browser draws an image at its pixel width divided by its density, and
// takes the density of a "600w" candidate from the slot sizes promises: so
// every descriptor is the candidate's real pixel width (w·dpr), sizes says
// the image is w CSS pixels wide (or the viewport's width below that), and
// <img> carries width and height, so that the space is reserved before the
// image arrives. Without an origin lookup only the box is known: height is
// set only when h is, and neither when fit=inside or outside, whose output
// has the original's aspect ratio. With an Original, every size is the
// one the server returns.
func (s *Signer) Picture(key string, ps []urlsig.Param, o PictureOptions) (string, error) {
	for _, p := range ps {
		if p.Name == "fm" || p.Name == "auto" {
			return "", errors.New("picture markup chooses the formats itself: drop fm and auto")
		}
	}
	w, h, err := box(ps)
	if err != nil {
		return "", err
	}
	opts, err := params.Parse(ps, s.Limits)
	if err != nil {
		return "", err
	}
	// src is for browsers without srcset: the width asked for, else the
	// largest.
	srcW := w
	if srcW == 0 && len(o.Widths) > 0 {
		srcW = slices.Max(o.Widths)
	}
	srcParams := func(v []urlsig.Param) []urlsig.Param {
		if len(o.Widths) == 0 {
			return v
		}
		sv := withParam(v, "w", strconv.Itoa(srcW))
		if h > 0 {
			sv = withParam(sv, "h", strconv.Itoa(ScaleHeight(h, w, srcW)))
		}
		return sv
	}
	// The <img>'s size in CSS pixels: what the server returns for src,
	// when the original is known.
	imgW, imgH := w, h
	if orig := o.Original; orig != nil {
		so, err := params.Parse(srcParams(ps), s.Limits)
		if err != nil {
			return "", err
		}
		out := orig.output(&so)
		imgW, imgH = cssPixels(out.Width, so.DPR), cssPixels(out.Height, so.DPR)
	}

	widthDescriptors := len(o.Widths) > 0 || w > 0
	sizes := o.Sizes
	switch {
	case sizes != "" && !widthDescriptors:
		return "", errors.New("sizes needs widths (or w): it picks among width descriptors")
	case sizes == "" && w > 0:
		sizes = fmt.Sprintf("(max-width: %dpx) 100vw, %dpx", imgW, imgW)
	case sizes == "" && len(o.Widths) > 0:
		// Without a slot, a browser assumes the viewport's width and draws
		// the image that wide: a 320..640 srcset would fill a 1200 px window.
		return "", errors.New("widths without w need sizes: say how wide the image is drawn, with w (CSS pixels) or sizes")
	}

	// candidates returns the srcset for one format, and the URL for src.
	candidates := func(fm string) (set, src string, err error) {
		v := ps
		if fm != "" {
			v = withParam(ps, "fm", fm)
		}
		switch {
		case len(o.Widths) > 0:
			set, _, err = s.srcset(key, v, o.Widths, o.Original)
			if err != nil {
				return "", "", err
			}
			src, err = s.URL(key, srcParams(v))
			return set, src, err
		case w > 0:
			src, err = s.URL(key, v)
			pw := opts.PixelWidth()
			if o.Original != nil {
				pw = o.Original.output(&opts).Width
			}
			return src + " " + strconv.Itoa(pw) + "w", src, err
		case h > 0 && opts.DPR != 100:
			// Only the height is known: a density descriptor says how
			// many pixels stand for one CSS pixel.
			src, err = s.URL(key, v)
			return src + " " + formatDPR(opts.DPR) + "x", src, err
		default:
			src, err = s.URL(key, v)
			return src, src, err
		}
	}

	var b strings.Builder
	b.WriteString("<picture>\n")
	for _, f := range []struct{ fm, typ string }{{"avif", "image/avif"}, {"webp", "image/webp"}} {
		set, _, err := candidates(f.fm)
		if err != nil {
			return "", err
		}
		b.WriteString(`  <source type="` + f.typ + `"`)
		attr(&b, "srcset", set)
		if sizes != "" {
			attr(&b, "sizes", sizes)
		}
		b.WriteString(">\n")
	}
	set, src, err := candidates("")
	if err != nil {
		return "", err
	}
	b.WriteString("  <img")
	attr(&b, "src", src)
	if set != src {
		attr(&b, "srcset", set)
	}
	if sizes != "" {
		attr(&b, "sizes", sizes)
	}
	attr(&b, "alt", o.Alt)
	keepsAspect := o.Original == nil && w > 0 && h > 0 && (opts.Fit == params.FitInside || opts.Fit == params.FitOutside)
	if (w > 0 || o.Original != nil) && !keepsAspect {
		attr(&b, "width", strconv.Itoa(imgW))
	}
	if (h > 0 || o.Original != nil) && !keepsAspect {
		attr(&b, "height", strconv.Itoa(imgH))
	}
	if o.Original != nil && o.Original.Placeholder != "" {
		attr(&b, "style", PlaceholderStyle(o.Original.Placeholder))
	}
	b.WriteString(` loading="lazy" decoding="async">` + "\n</picture>\n")
	return b.String(), nil
}

// cssPixels turns device pixels into CSS pixels at a dpr in hundredths,
// rounded half up and at least 1.
func cssPixels(px, dpr int) int {
	return max(1, (px*100+dpr/2)/dpr)
}

// PlaceholderStyle is the inline style that shows a placeholder until the
// image covers it: the data URI drawn to fill the <img>'s box, cropped at
// the centre as a cover fit is.
func PlaceholderStyle(dataURI string) string {
	return "background-size:cover;background-position:center;background-image:url(" + dataURI + ")"
}

// formatDPR writes a dpr in hundredths as the parameter is written: 1.5, 2.
func formatDPR(hundredths int) string {
	return strconv.FormatFloat(float64(hundredths)/100, 'f', -1, 64)
}

func attr(b *strings.Builder, name, value string) {
	b.WriteString(" " + name + `="` + html.EscapeString(value) + `"`)
}
