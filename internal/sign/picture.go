package sign

import (
	"errors"
	"html"
	"strconv"
	"strings"

	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// PictureOptions are the attributes of <picture> markup besides the URLs.
type PictureOptions struct {
	Widths []int  // srcset widths; empty for a single URL
	Sizes  string // the sizes attribute
	Alt    string
}

// Picture returns <picture> markup: an AVIF <source>, a WebP <source>, and
// an <img> fallback in the original's format (no fm), each with the same
// srcset. width and height are set when ps has both w and h, so the browser
// reserves the space before the image arrives.
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
	if o.Sizes != "" && len(o.Widths) == 0 && w == 0 {
		return "", errors.New("sizes needs widths (or w): it picks among width descriptors")
	}

	// candidates returns the srcset for one format, and the URL for src.
	candidates := func(fm string) (set, src string, err error) {
		v := ps
		if fm != "" {
			v = withParam(ps, "fm", fm)
		}
		switch {
		case len(o.Widths) > 0:
			set, err = s.Srcset(key, v, o.Widths)
			if err != nil {
				return "", "", err
			}
			// src is for browsers without srcset: the width asked for, else
			// the largest.
			srcW := w
			if srcW == 0 {
				srcW = maxOf(o.Widths)
			}
			sv := withParam(v, "w", strconv.Itoa(srcW))
			if h > 0 {
				sv = withParam(sv, "h", strconv.Itoa(ScaleHeight(h, w, srcW)))
			}
			src, err = s.URL(key, sv)
			return set, src, err
		case w > 0:
			src, err = s.URL(key, v)
			return src + " " + strconv.Itoa(w) + "w", src, err
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
		if o.Sizes != "" {
			attr(&b, "sizes", o.Sizes)
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
	if o.Sizes != "" {
		attr(&b, "sizes", o.Sizes)
	}
	attr(&b, "alt", o.Alt)
	if w > 0 && h > 0 {
		attr(&b, "width", strconv.Itoa(w))
		attr(&b, "height", strconv.Itoa(h))
	}
	b.WriteString(` loading="lazy" decoding="async">` + "\n</picture>\n")
	return b.String(), nil
}

func attr(b *strings.Builder, name, value string) {
	b.WriteString(" " + name + `="` + html.EscapeString(value) + `"`)
}

func maxOf(ns []int) int {
	m := ns[0]
	for _, n := range ns[1:] {
		m = max(m, n)
	}
	return m
}
