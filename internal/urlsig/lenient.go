package urlsig

import (
	"net/url"
	"strings"
)

// ParseLenient reads what a non-canonical URL most likely means, so that a
// person can be shown its canonical form: any escaping is decoded (in either
// case), parameters may come in any order, and s may be anywhere. Unknown,
// duplicate and empty parameters are kept for the caller to report; a
// duplicate's last value wins. Only the server's strict Parse decides what
// is served.
func ParseLenient(uri string) (key string, params []Param, sig string, err error) {
	path, query, _ := strings.Cut(uri, "?")
	key, err = url.PathUnescape(strings.TrimPrefix(path, "/"))
	if err != nil {
		return "", nil, "", err
	}
	seen := map[string]int{}
	for part := range strings.SplitSeq(query, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		// '+' is kept literally: in this contract it never means a space.
		if value, err = url.PathUnescape(value); err != nil {
			return "", nil, "", err
		}
		if name == "s" {
			sig = value
			continue
		}
		if i, ok := seen[name]; ok {
			params[i].Value = value
			continue
		}
		seen[name] = len(params)
		params = append(params, Param{Name: name, Value: value})
	}
	return key, params, sig, nil
}
