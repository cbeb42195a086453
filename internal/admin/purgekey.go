package admin

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// ErrBadKey is the kind of error for a purge target that names no object
// key; the message after it says why.
var ErrBadKey = errors.New("invalid key")

// ObjectKey reads the original a purge names, as an operator would paste
// it: an object key (photos/cat.jpg), the same with a leading slash or
// percent-escaped as in a URL path (/photos/my%20cat.jpg), a request
// target with its query, or a whole image URL. The input is read as a URL
// path: a literal "%" in a key is written "%25" and a "?" "%3F", as the
// canonical URL writes them. A URL's path may carry a prefix before the
// key (a CDN's route): when its signature verifies with ring for a trailing
// part of the path, that part is the key; otherwise the whole path is. The
// key must be one the URL contract allows, or the error (ErrBadKey) says
// why not.
func ObjectKey(in string, ring *urlsig.KeyRing) (string, error) {
	in = strings.TrimSpace(in)
	path, query, _ := strings.Cut(in, "?")
	if lower := strings.ToLower(in); strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		u, err := url.Parse(in)
		if err != nil {
			return "", fmt.Errorf("%w: not a URL: %v", ErrBadKey, err)
		}
		path, query = u.EscapedPath(), u.RawQuery
	}
	// One leading slash is the URL's, not the key's.
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, s := range segs {
		dec, err := url.PathUnescape(s)
		if err != nil {
			return "", fmt.Errorf("%w: %q is not valid percent-escaping (write a literal %% as %%25)", ErrBadKey, s)
		}
		segs[i] = dec
	}
	key := strings.Join(segs, "/")
	if ring != nil && query != "" {
		k, ok, err := signedKey(segs, query, ring)
		if err != nil {
			return "", err
		}
		if ok {
			key = k
		}
	}
	if _, err := urlsig.ToSign(key, nil); err != nil {
		return "", fmt.Errorf("%w: %s", ErrBadKey, strings.TrimPrefix(err.Error(), urlsig.ErrNotCanonical.Error()+": "))
	}
	return key, nil
}

// signedKey finds the trailing part of a URL's path that its signature was
// made for, longest first. A URL without a signature has none (ok false); a
// signature that matches no part is an error, for the key is then anyone's
// guess.
func signedKey(segs []string, query string, ring *urlsig.KeyRing) (key string, ok bool, err error) {
	_, params, sig, err := urlsig.ParseLenient("?" + query)
	if err != nil {
		return "", false, fmt.Errorf("%w: the URL's query: %v", ErrBadKey, err)
	}
	if sig == "" {
		return "", false, nil
	}
	for i := range segs {
		k := strings.Join(segs[i:], "/")
		toSign, err := urlsig.ToSign(k, append([]urlsig.Param(nil), params...))
		if err == nil && ring.Match(toSign, sig) >= 0 {
			return k, true, nil
		}
	}
	return "", false, fmt.Errorf("%w: the URL's signature matches no object key in its path (a URL of another server, or altered?); give the object key itself", ErrBadKey)
}
