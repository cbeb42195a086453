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
	if len(widths) == 0 {
		return "", errors.New("no widths")
	}
	w0, h0, err := box(ps)
	if err != nil {
		return "", err
	}
	if h0 > 0 && w0 == 0 {
		return "", errors.New("widths with h need w too, to keep the aspect ratio")
	}
	var b []byte
	for i, w := range SortWidths(widths) {
		if w < 1 {
			return "", fmt.Errorf("width %d: want a positive integer", w)
		}
		v := withParam(ps, "w", strconv.Itoa(w))
		if h0 > 0 {
			v = withParam(v, "h", strconv.Itoa(ScaleHeight(h0, w0, w)))
		}
		if i > 0 {
			b = append(b, ", "...)
		}
		var o params.Options
		if b, o, err = s.appendURL(b, key, v); err != nil {
			return "", fmt.Errorf("width %d: %w", w, err)
		}
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(o.PixelWidth()), 10)
		b = append(b, 'w')
	}
	return string(b), nil
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
