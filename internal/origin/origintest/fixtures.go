// Package origintest is the conformance suite that every origin.Origin
// implementation passes: the same objects and the same cases, whatever the
// backend.
package origintest

import (
	"bytes"
	"maps"
	"math/rand/v2"
)

// MaxBytes is the byte limit the origin under test must be built with.
const MaxBytes = 4096

// Fixtures returns the objects the origin under test must hold, by key: a
// fresh map each time, so callers may keep it.
func Fixtures() map[string][]byte {
	return maps.Clone(fixtures)
}

var fixtures = map[string][]byte{
	"photos/cat.jpg":           content(1, 1000),
	"photos/dog.jpg":           content(2, 1200), // differs from cat.jpg
	"a/b/c/d/nested.png":       content(4, 300),
	"with space/file name.jpg": content(5, 200),
	"Fotos/Straße 1.jpg":       content(6, 210),
	"日本/写真.png":                content(7, 220),
	"a/b+c (1).png":            content(8, 230),
	"100%.png":                 content(9, 240),
	"literal%20escape.jpg":     content(10, 250), // "%20" is part of the name
	"tilde~and;semicolon.jpg":  content(11, 260),
	"empty.jpg":                {},
	"exact.bin":                content(12, MaxBytes),
	"over.bin":                 content(13, MaxBytes+1),
	"far-over.bin":             content(14, 4*MaxBytes),
}

// content returns n pseudo-random bytes, the same for the same seed.
func content(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	var b bytes.Buffer
	b.Grow(n)
	for b.Len() < n {
		b.WriteByte(byte(r.Uint32()))
	}
	return b.Bytes()
}
