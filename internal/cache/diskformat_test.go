package cache

import (
	"testing"
	"time"
)

// Any single flipped bit of an encoded entry is caught.
func TestEncodingCatchesEveryFlippedBit(t *testing.T) {
	e := &Entry{Body: []byte("body bytes"), ContentType: "image/png", ObjectKey: "a/b.png", OriginETag: `"e"`,
		LastModified: time.Unix(5, 0), Created: time.Unix(6, 0)}
	b := encodeEntry(e)
	if _, err := decodeEntry(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		for bit := 0; bit < 8; bit++ {
			c := append([]byte(nil), b...)
			c[i] ^= 1 << bit
			if _, err := decodeEntry(c); err == nil {
				t.Fatalf("flip of byte %d bit %d not caught", i, bit)
			}
		}
	}
	for n := 0; n < len(b); n++ {
		if _, err := decodeEntry(b[:n]); err == nil {
			t.Fatalf("truncation to %d bytes not caught", n)
		}
	}
}

func FuzzDecodeEntry(f *testing.F) {
	f.Add(encodeEntry(&Entry{Body: []byte("x"), ContentType: "image/jpeg"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeEntry(b) // must not panic
	})
}
