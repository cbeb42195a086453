package cli

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// macB64 signs independently of package urlsig, so tests do not trust the
// code they check.
func macB64(key []byte, s string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
