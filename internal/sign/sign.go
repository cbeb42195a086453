// Package sign mints signed URLs for sites: one URL, a srcset over several
// widths, <picture> markup, and a JSON-lines batch mode for build tools. It
// validates exactly as the server does, so it never prints a URL the server
// would answer 400.
package sign

import (
	"errors"
	"fmt"
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
	b, err := s.appendURL(nil, key, ps)
	return string(b), err
}

func (s *Signer) appendURL(dst []byte, key string, ps []urlsig.Param) ([]byte, error) {
	if _, err := params.Parse(ps, s.Limits); err != nil {
		return dst, err
	}
	start := len(dst)
	dst = append(dst, s.BaseURL...)
	dst, err := s.Ring.AppendURL(dst, key, ps)
	if err != nil {
		return dst[:start], err
	}
	return dst, nil
}

// Srcset returns a srcset value, "URL 320w, URL 640w", with w set to each
// width in turn. When ps has h, it must have w too, and h is scaled with
// each width to keep the aspect ratio.
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
	for i, w := range widths {
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
		if b, err = s.appendURL(b, key, v); err != nil {
			return "", fmt.Errorf("width %d: %w", w, err)
		}
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(w), 10)
		b = append(b, 'w')
	}
	return string(b), nil
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

// ParseWidths parses "320,640,1280".
func ParseWidths(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("widths: want positive integers separated by commas, got %q", s)
		}
		out = append(out, n)
	}
	return out, nil
}
