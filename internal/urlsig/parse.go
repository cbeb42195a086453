package urlsig

import (
	"strings"
)

// Param is one query parameter, decoded.
type Param struct {
	Name, Value string
}

// URL is a request URL that passed the canonical check. Its signature has not
// been verified yet: see KeyRing.Verify.
type URL struct {
	// Key is the decoded object key.
	Key string
	// Params holds the parameters in canonical order, without s.
	Params []Param
	// ToSign is the string to sign: the canonical path, plus "?" and the
	// canonical query without s when there are parameters.
	ToSign string
	// Sig is the value of s as sent (empty when missing).
	Sig string

	// store holds the parameters of typical URLs without another
	// allocation; more than fit spill into one. Not MaxParams: every
	// request allocates a URL, and a smaller one is less for the garbage
	// collector at tens of thousands of requests a second.
	store [8]Param
}

// Param returns the value of the named parameter and whether it is present.
func (u *URL) Param(name string) (string, bool) {
	for _, p := range u.Params {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// Parse checks that uri (a request target: path and optional query, as sent
// on the wire) is byte-for-byte canonical and splits it into its parts.
// Anything non-canonical is an ErrNotCanonical error saying why; a canonical
// URL without s is ErrNoSignature.
func Parse(uri string) (*URL, error) {
	u := new(URL)
	err := ParseInto(uri, u)
	if err != nil && err != ErrNoSignature {
		return nil, err
	}
	return u, err
}

// ParseInto is Parse into a URL the caller owns (a server reuses one per
// request instead of allocating it). u is overwritten; after an error
// other than ErrNoSignature its contents mean nothing.
func ParseInto(uri string, u *URL) error {
	*u = URL{}
	_, err := parseInto(uri, u)
	return err
}

func parseInto(uri string, u *URL) (*URL, error) {
	path, query, hasQuery := strings.Cut(uri, "?")
	key, err := parsePath(path)
	if err != nil {
		return nil, err
	}
	u.Key = key
	if !hasQuery {
		u.ToSign = uri
		return u, ErrNoSignature
	}
	if query == "" {
		return nil, errorf("empty query after %q", "?")
	}
	if query[len(query)-1] == '&' {
		return nil, errorf("empty parameter in query")
	}

	u.Params = u.store[:0]
	prev := ""
	rest := query
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, "&")
		name, value, ok := strings.Cut(part, "=")
		if name == "s" {
			if rest != "" {
				return nil, errorf("s must be the last parameter")
			}
			if !ok {
				return nil, errorf("parameter %q has no value", name)
			}
			u.Sig = value
			break
		}
		if !ok {
			if part == "" {
				return nil, errorf("empty parameter in query")
			}
			return nil, errorf("parameter %q has no value", part)
		}
		if !Known(name) {
			return nil, errorf("unknown parameter %q", name)
		}
		if name <= prev {
			if name == prev {
				return nil, errorf("duplicate parameter %q", name)
			}
			return nil, errorf("parameter %q must come before %q (names are sorted)", name, prev)
		}
		if value == "" {
			return nil, errorf("parameter %q has an empty value", name)
		}
		v, err := unescapeCanonical(value)
		if err != nil {
			return nil, errorf("parameter %q: %s", name, trimKind(err))
		}
		u.Params = append(u.Params, Param{Name: name, Value: v})
		prev = name
	}
	// The string to sign is the URL up to the separator before s.
	toSign := uri[:len(path)]
	if len(u.Params) > 0 {
		end := strings.LastIndex(uri, "&s=")
		if end < 0 {
			end = len(uri)
		}
		toSign = uri[:end]
	}
	u.ToSign = toSign
	if u.Sig == "" {
		return u, ErrNoSignature
	}
	return u, nil
}

// parsePath checks the canonical path and returns the decoded object key.
func parsePath(path string) (string, error) {
	if path == "" || path[0] != '/' {
		return "", errorf("path must start with /")
	}
	p := path[1:]
	if !strings.Contains(p, "%") {
		// Nothing escaped: the key is the path itself, no allocation.
		for i := 0; i < len(p); i++ {
			if c := p[i]; c != '/' && !unreserved(c) {
				return "", errorf("byte %q must be escaped as %%%c%c", c, upperHex[c>>4], upperHex[c&15])
			}
		}
		return p, checkKey(p)
	}
	var b strings.Builder
	b.Grow(len(p))
	for i, seg := 0, ""; p != ""; i++ {
		seg, p, _ = strings.Cut(p, "/")
		dec, err := unescapeCanonical(seg)
		if err != nil {
			return "", err
		}
		if strings.Contains(dec, "/") {
			return "", errorf("a path segment contains an escaped %q", "/")
		}
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(dec)
	}
	if strings.HasSuffix(path, "/") {
		return "", errorf("object key has an empty path segment")
	}
	key := b.String()
	return key, checkKey(key)
}

// trimKind drops the "not canonical: " prefix so a wrapped message reads once.
func trimKind(err error) string {
	return strings.TrimPrefix(err.Error(), ErrNotCanonical.Error()+": ")
}
