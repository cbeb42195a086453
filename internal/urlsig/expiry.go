package urlsig

import (
	"fmt"
	"time"
)

// ParseExp parses the value of exp: unix seconds as a canonical integer (no
// sign, no leading zeros).
func ParseExp(v string) (int64, error) {
	if v == "" || len(v) > 1 && v[0] == '0' || len(v) > 18 {
		return 0, errorf("exp: want unix seconds without leading zeros, got %q", v)
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, errorf("exp: want unix seconds without leading zeros, got %q", v)
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// Expiry returns the URL's expiry time, and false when it has none.
func (u *URL) Expiry() (time.Time, bool, error) {
	v, ok := u.Param("exp")
	if !ok {
		return time.Time{}, false, nil
	}
	n, err := ParseExp(v)
	if err != nil {
		return time.Time{}, true, err
	}
	return time.Unix(n, 0), true, nil
}

// CheckExpiry returns ErrExpired when the URL has an exp at or before now.
func (u *URL) CheckExpiry(now time.Time) error {
	t, ok, err := u.Expiry()
	if err != nil || !ok {
		return err
	}
	if !now.Before(t) {
		return fmt.Errorf("%w at %s", ErrExpired, t.UTC().Format(time.RFC3339))
	}
	return nil
}
