package urlsig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
)

// MinKeyBytes is the shortest signing key accepted.
const MinKeyBytes = 32

var strictB64 = base64.RawURLEncoding.Strict()

// sigLen is the length of an encoded signature: 32 bytes, base64url, no padding.
const sigLen = 43

// mac is a keyed HMAC state with a scratch buffer, so that hashing a string
// does not allocate a copy of it.
type mac struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte // where a verification's MAC goes: no escape, no allocation
}

// KeyRing signs with its first key and verifies with all of them, so keys
// can be rotated without downtime. It is safe for concurrent use.
type KeyRing struct {
	macs []*sync.Pool // one pool of keyed HMAC states per key
}

// NewKeyRing builds a ring from raw keys; the first one signs.
func NewKeyRing(keys [][]byte) (*KeyRing, error) {
	if len(keys) == 0 {
		return nil, errors.New("no signing key")
	}
	r := &KeyRing{}
	for i, k := range keys {
		if len(k) < MinKeyBytes {
			return nil, fmt.Errorf("signing key %d is %d bytes, at least %d are needed", i+1, len(k), MinKeyBytes)
		}
		k := append([]byte(nil), k...)
		// Keyed HMAC states are reused: Reset returns one to its keyed state,
		// which saves the key schedule and two allocations per signature.
		r.macs = append(r.macs, &sync.Pool{New: func() any { return &mac{h: hmac.New(sha256.New, k)} }})
	}
	return r, nil
}

// ParseKeys decodes hex-encoded keys, reporting every bad one by position
// (never by value).
func ParseKeys(hexKeys []string) ([][]byte, error) {
	var keys [][]byte
	var errs []error
	for i, h := range hexKeys {
		h = strings.TrimSpace(h)
		k, err := hex.DecodeString(h)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("signing key %d is not hex", i+1))
		case len(k) < MinKeyBytes:
			errs = append(errs, fmt.Errorf("signing key %d is %d bytes, at least %d are needed", i+1, len(k), MinKeyBytes))
		default:
			keys = append(keys, k)
		}
	}
	return keys, errors.Join(errs...)
}

// Len returns the number of keys in the ring.
func (r *KeyRing) Len() int { return len(r.macs) }

func (r *KeyRing) sum(i int, toSign string, out *[sha256.Size]byte) {
	m := r.macs[i].Get().(*mac)
	m.buf = append(m.buf[:0], toSign...)
	m.h.Reset()
	m.h.Write(m.buf)
	m.h.Sum(out[:0])
	r.macs[i].Put(m)
}

// Signature returns s for a string to sign, made with the first key.
func (r *KeyRing) Signature(toSign string) string {
	var sum [sha256.Size]byte
	r.sum(0, toSign, &sum)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// appendSignature appends s for toSign, made with the first key.
func (r *KeyRing) appendSignature(dst []byte, toSign []byte) []byte {
	var sum [sha256.Size]byte
	m := r.macs[0].Get().(*mac)
	m.h.Reset()
	m.h.Write(toSign)
	m.h.Sum(sum[:0])
	r.macs[0].Put(m)
	return base64.RawURLEncoding.AppendEncode(dst, sum[:])
}

// Match returns the position (0-based) of the key that made sig for toSign,
// or -1. Every key is tried, and each comparison takes constant time.
func (r *KeyRing) Match(toSign, sig string) int {
	var got [sha256.Size + 3]byte // room for a decoder that overshoots
	if len(sig) != sigLen {
		return -1
	}
	// Strict: otherwise the unused low bits of the last character are
	// ignored, and four spellings of one signature would all verify.
	n, err := strictB64.Decode(got[:], []byte(sig))
	if err != nil || n != sha256.Size {
		return -1
	}
	match := -1
	for i := range r.macs {
		if r.made(i, toSign, got[:sha256.Size]) && match < 0 {
			match = i
		}
	}
	return match
}

// made reports, in constant time, whether key i made sig for toSign.
func (r *KeyRing) made(i int, toSign string, sig []byte) bool {
	m := r.macs[i].Get().(*mac)
	m.buf = append(m.buf[:0], toSign...)
	m.h.Reset()
	m.h.Write(m.buf)
	ok := hmac.Equal(m.h.Sum(m.sum[:0]), sig)
	r.macs[i].Put(m)
	return ok
}

// Verify checks the signature of a parsed URL: ErrNoSignature when it has
// none, ErrBadSignature when no key made it.
func (r *KeyRing) Verify(u *URL) error {
	if u.Sig == "" {
		return ErrNoSignature
	}
	if r.Match(u.ToSign, u.Sig) < 0 {
		return ErrBadSignature
	}
	return nil
}
