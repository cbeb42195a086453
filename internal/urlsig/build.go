package urlsig

import (
	"slices"
	"strings"
)

// AppendToSign appends the string to sign for key and params: the canonical
// path, plus "?" and the canonical query when there are parameters. params
// may be in any order; it is sorted in place. Names must be known, values
// non-empty and every name present once.
func AppendToSign(dst []byte, key string, params []Param) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return dst, err
	}
	slices.SortFunc(params, func(a, b Param) int { return strings.Compare(a.Name, b.Name) })
	for i, p := range params {
		switch {
		case !Known(p.Name):
			return dst, errorf("unknown parameter %q", p.Name)
		case i > 0 && params[i-1].Name == p.Name:
			return dst, errorf("duplicate parameter %q", p.Name)
		case p.Value == "":
			return dst, errorf("parameter %q has an empty value", p.Name)
		}
	}
	dst = appendPath(dst, key)
	for i, p := range params {
		if i == 0 {
			dst = append(dst, '?')
		} else {
			dst = append(dst, '&')
		}
		dst = append(dst, p.Name...)
		dst = append(dst, '=')
		dst = appendEscaped(dst, p.Value)
	}
	return dst, nil
}

// ToSign returns the string to sign for key and params (see AppendToSign).
func ToSign(key string, params []Param) (string, error) {
	b, err := AppendToSign(nil, key, params)
	return string(b), err
}

// AppendURL appends the signed canonical URL (path and query, with s last)
// for key and params. params is sorted in place.
func (r *KeyRing) AppendURL(dst []byte, key string, params []Param) ([]byte, error) {
	start := len(dst)
	dst, err := AppendToSign(dst, key, params)
	if err != nil {
		return dst[:start], err
	}
	toSign := dst[start:]
	if len(params) == 0 {
		dst = append(dst, "?s="...)
	} else {
		dst = append(dst, "&s="...)
	}
	return r.appendSignature(dst, toSign), nil
}

// URL returns the signed canonical URL (path and query) for key and params.
func (r *KeyRing) URL(key string, params []Param) (string, error) {
	b, err := r.AppendURL(nil, key, params)
	return string(b), err
}
