package server

import (
	"strconv"
	"strings"
	"time"
)

// cacheControl is the configured Cache-Control of images, split around its
// max-age so that a URL's exp can cap it without reparsing per request.
type cacheControl struct {
	value  string
	shared []string // value as a header, for the common case without exp
	maxAge int64    // -1 when the value has no max-age
	before string
	after  string
}

func parseCacheControl(v string) cacheControl {
	c := cacheControl{value: v, shared: []string{v}, maxAge: -1}
	i := strings.Index(v, "max-age=")
	if i < 0 || i > 0 && v[i-1] == '-' { // s-maxage is not max-age
		return c
	}
	j := i + len("max-age=")
	k := j
	for k < len(v) && v[k] >= '0' && v[k] <= '9' {
		k++
	}
	n, err := strconv.ParseInt(v[j:k], 10, 64)
	if err != nil {
		return c
	}
	c.maxAge, c.before, c.after = n, v[:j], v[k:]
	return c
}

// capped returns the header for a URL expiring at exp (unix seconds, 0 for
// none): a CDN or browser must not keep a response past the URL's life.
func (c cacheControl) capped(exp int64, now time.Time) string {
	if exp == 0 || c.maxAge < 0 {
		return c.value
	}
	left := max(exp-now.Unix(), 0)
	if left >= c.maxAge {
		return c.value
	}
	return c.before + strconv.FormatInt(left, 10) + c.after
}

// capMaxAge lowers the max-age and s-maxage of the Cache-Control value v to
// limit (cache.max_age), adding a max-age when v has none: a CDN or browser
// must not keep a variant longer than the server itself would. no-store and
// no-cache values are left alone, as is everything when limit is 0.
func capMaxAge(v string, limit time.Duration) string {
	secs := int64(limit / time.Second)
	lower := strings.ToLower(v)
	if limit <= 0 || strings.Contains(lower, "no-store") || strings.Contains(lower, "no-cache") {
		return v
	}
	parts := strings.Split(v, ",")
	hasMaxAge := false
	for i, p := range parts {
		name, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		name = strings.ToLower(name)
		if !ok || name != "max-age" && name != "s-maxage" {
			continue
		}
		hasMaxAge = hasMaxAge || name == "max-age"
		if n, err := strconv.ParseInt(val, 10, 64); err != nil || n > secs {
			lead := p[:len(p)-len(strings.TrimLeft(p, " "))]
			parts[i] = lead + name + "=" + strconv.FormatInt(secs, 10)
		}
	}
	if !hasMaxAge {
		parts = append(parts, " max-age="+strconv.FormatInt(secs, 10))
	}
	return strings.TrimLeft(strings.Join(parts, ","), ", ")
}

func itoa(n int) string { return strconv.Itoa(n) }

// header returns capped as a header value; shared when nothing is capped.
func (c cacheControl) header(exp int64, now time.Time) []string {
	if exp == 0 || c.maxAge < 0 {
		return c.shared
	}
	return []string{c.capped(exp, now)}
}
