package params

import "strings"

// Negotiate returns the output format for a request: with auto=format, AVIF
// when accept allows it, else WebP when it allows that, else the fallback
// (fm, or FormatDefault); without auto=format, fm as given.
func (o *Options) Negotiate(accept string) Format {
	if !o.AutoFormat {
		return o.Format
	}
	avif, webp := acceptsImage(accept)
	switch {
	case avif:
		return FormatAVIF
	case webp:
		return FormatWebP
	}
	return o.Format
}

// acceptsImage reports whether an Accept header names image/avif and
// image/webp with a non-zero quality. Wildcards do not count: browsers that
// decode AVIF or WebP say so explicitly, and "*/*" from a crawler is no
// promise that it can.
func acceptsImage(accept string) (avif, webp bool) {
	for accept != "" {
		var item string
		item, accept, _ = strings.Cut(accept, ",")
		typ, args, _ := strings.Cut(item, ";")
		typ = strings.TrimSpace(typ)
		var isAVIF, isWebP bool
		switch {
		case strings.EqualFold(typ, "image/avif"):
			isAVIF = true
		case strings.EqualFold(typ, "image/webp"):
			isWebP = true
		default:
			continue
		}
		if zeroQuality(args) {
			continue
		}
		avif = avif || isAVIF
		webp = webp || isWebP
	}
	return avif, webp
}

// zeroQuality reports whether media-type parameters carry q=0 (q=0, q=0.0,
// q=0.00, q=0.000), which means "not acceptable".
func zeroQuality(args string) bool {
	for args != "" {
		var a string
		a, args, _ = strings.Cut(args, ";")
		k, v, _ := strings.Cut(strings.TrimSpace(a), "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		v = strings.TrimSpace(v)
		return v == "0" || strings.HasPrefix(v, "0.") && strings.Trim(v[2:], "0") == ""
	}
	return false
}
