package urlsig

import (
	"errors"
	"testing"
)

var fuzzRing = func() *KeyRing {
	r, err := NewKeyRing([][]byte{[]byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		panic(err)
	}
	return r
}()

// FuzzParse: Parse never panics, and whatever it accepts is a fixed point:
// building the URL again from its parts gives back the same bytes.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"/photos/cat.jpg?fm=webp&q=80&w=400&s=J0dnIbFpJJyLFhQ9RGshlmd6fVuxPMFxZEu7VhCMo3k",
		"/Fotos/Stra%C3%9Fe%201.jpg?fit=cover&h=480&position=smart&w=640&s=x",
		"/a/b%2Bc%20%281%29.png?auto=format&exp=1893456000&w=320&s=y",
		"/a.jpg", "/a.jpg?", "/a%2F.jpg?s=1", "//?&&s=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		u, err := Parse(uri)
		if err != nil && !errors.Is(err, ErrNoSignature) {
			if !errors.Is(err, ErrNotCanonical) {
				t.Fatalf("Parse(%q): error of no kind: %v", uri, err)
			}
			return
		}
		toSign, err := ToSign(u.Key, append([]Param(nil), u.Params...))
		if err != nil {
			t.Fatalf("Parse(%q) accepted parts that ToSign refuses: %v", uri, err)
		}
		if toSign != u.ToSign {
			t.Fatalf("Parse(%q): to-sign %q, rebuilt %q", uri, u.ToSign, toSign)
		}
		if u.Sig != "" {
			rebuilt := toSign + "&s=" + u.Sig
			if len(u.Params) == 0 {
				rebuilt = toSign + "?s=" + u.Sig
			}
			if rebuilt != uri {
				t.Fatalf("Parse(%q) is not a fixed point: rebuilt %q", uri, rebuilt)
			}
		}
	})
}

// FuzzSignVerify: every URL the signer makes parses and verifies, and no
// single-byte change of it does.
func FuzzSignVerify(f *testing.F) {
	f.Add("photos/cat.jpg", "400", "b+c (1)", uint16(3), byte(1))
	f.Add("Fotos/Straße 1.jpg", "640", "%~", uint16(0), byte(0x80))
	f.Fuzz(func(t *testing.T, key, w, v string, pos uint16, flip byte) {
		ps := []Param{{"w", w}, {"v", v}}
		url, err := fuzzRing.URL(key, ps)
		if err != nil {
			if !errors.Is(err, ErrNotCanonical) {
				t.Fatalf("URL(%q): %v", key, err)
			}
			return
		}
		u, err := Parse(url)
		if err != nil {
			t.Fatalf("signed %q does not parse: %v", url, err)
		}
		if u.Key != key {
			t.Fatalf("signed %q parses to key %q", key, u.Key)
		}
		if err := fuzzRing.Verify(u); err != nil {
			t.Fatalf("signed %q does not verify: %v", url, err)
		}
		if flip == 0 {
			return
		}
		b := []byte(url)
		b[int(pos)%len(b)] ^= flip
		if mu, err := Parse(string(b)); err == nil && fuzzRing.Verify(mu) == nil {
			t.Fatalf("mutated %q verifies", b)
		}
	})
}
