// Package sign mints signed URLs for sites: one URL, a srcset over several
// widths, <picture> markup, and a JSON-lines batch mode for build tools. It
// validates exactly as the server does, so it never prints a URL the server
// would answer 400.
package sign

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// Signer mints URLs with the first key of a ring.
type Signer struct {
	Ring    *urlsig.KeyRing
	BaseURL string // without a trailing slash; empty prints paths
	Limits  params.Limits
}

// URL validates the parameters and returns the signed URL.
func (s *Signer) URL(key string, ps []urlsig.Param) (string, error) {
	b, _, err := s.appendURL(nil, key, ps)
	return string(b), err
}

// appendURL appends the signed URL and returns the parsed options too, for
// the pixel sizes a descriptor needs.
func (s *Signer) appendURL(dst []byte, key string, ps []urlsig.Param) ([]byte, params.Options, error) {
	if strings.HasPrefix(key, "/") {
		// The commonest slip: a path pasted where an object key belongs.
		return dst, params.Options{}, fmt.Errorf("object key %q starts with a slash: drop it (%s); the URL adds it", key, strings.TrimLeft(key, "/"))
	}
	o, err := params.Parse(ps, s.Limits)
	if err != nil {
		return dst, o, err
	}
	start := len(dst)
	dst = append(dst, s.BaseURL...)
	dst, err = s.Ring.AppendURL(dst, key, ps)
	if err != nil {
		return dst[:start], o, err
	}
	return dst, o, nil
}

// Srcset returns a srcset value, "URL 320w, URL 640w", with w set to each
// width in turn, smallest first and each once (a repeated descriptor makes
// the browser drop a candidate). When ps has h, it must have w too, and h is
// scaled with each width to keep the aspect ratio. A descriptor is the
// candidate's width in real pixels, w·dpr, which is what the browser divides
// by the slot's width to know an image's density.
func (s *Signer) Srcset(key string, ps []urlsig.Param, widths []int) (string, error) {
	set, _, err := s.srcset(key, ps, widths, nil)
	return set, err
}

// SrcsetOf is Srcset for an original looked up at the origin (ps carries
// its v): each descriptor is the width the server returns for that
// candidate, which without enlarge stops at the original's, and a
// candidate whose image would be the same as a smaller one's is left out.
// It returns the size of the largest candidate's image too.
func (s *Signer) SrcsetOf(key string, ps []urlsig.Param, widths []int, orig *Original) (set string, largest Size, err error) {
	return s.srcset(key, ps, widths, orig)
}

// Size is an image's size in pixels.
type Size struct{ Width, Height int }

func (s *Signer) srcset(key string, ps []urlsig.Param, widths []int, orig *Original) (string, Size, error) {
	if len(widths) == 0 {
		return "", Size{}, errors.New("no widths")
	}
	w0, h0, err := box(ps)
	if err != nil {
		return "", Size{}, err
	}
	if h0 > 0 && w0 == 0 {
		return "", Size{}, errors.New("widths with h need w too, to keep the aspect ratio")
	}
	var b []byte
	var largest Size
	for _, w := range SortWidths(widths) {
		if w < 1 {
			return "", Size{}, fmt.Errorf("width %d: want a positive integer", w)
		}
		v := withParam(ps, "w", strconv.Itoa(w))
		if h0 > 0 {
			v = withParam(v, "h", strconv.Itoa(ScaleHeight(h0, w0, w)))
		}
		mark := len(b)
		if len(b) > 0 {
			b = append(b, ", "...)
		}
		var o params.Options
		if b, o, err = s.appendURL(b, key, v); err != nil {
			return "", Size{}, fmt.Errorf("width %d: %w", w, err)
		}
		out := Size{o.PixelWidth(), o.PixelHeight()}
		if orig != nil {
			out = orig.output(&o)
			if out.Width == largest.Width {
				b = b[:mark] // the same image as the candidate before
				continue
			}
		}
		largest = out
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(out.Width), 10)
		b = append(b, 'w')
	}
	return string(b), largest, nil
}

// SortWidths returns the widths sorted and each once, leaving ws alone.
func SortWidths(ws []int) []int {
	out := slices.Clone(ws)
	slices.Sort(out)
	return slices.Compact(out)
}

// ScaleHeight returns h·w/w0 rounded half up, and at least 1: the height
// that keeps the aspect ratio of w0×h when the width becomes w.
func ScaleHeight(h, w0, w int) int {
	return max(1, (2*h*w+w0)/(2*w0))
}

// box returns the w and h parameters, 0 when absent.
func box(ps []urlsig.Param) (w, h int, err error) {
	for _, p := range ps {
		if p.Name != "w" && p.Name != "h" {
			continue
		}
		n, err := strconv.Atoi(p.Value)
		if err != nil || n < 1 {
			return 0, 0, fmt.Errorf("%w %s: want a positive integer, got %q", params.ErrInvalid, p.Name, p.Value)
		}
		if p.Name == "w" {
			w = n
		} else {
			h = n
		}
	}
	return w, h, nil
}

// withParam returns a copy of ps with name set to value.
func withParam(ps []urlsig.Param, name, value string) []urlsig.Param {
	out := make([]urlsig.Param, 0, len(ps)+1)
	for _, p := range ps {
		if p.Name != name {
			out = append(out, p)
		}
	}
	return append(out, urlsig.Param{Name: name, Value: value})
}

// ParseWidths parses "320,640,1280", sorted and each once.
func ParseWidths(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("widths: want positive integers separated by commas, got %q", s)
		}
		out = append(out, n)
	}
	return SortWidths(out), nil
}
