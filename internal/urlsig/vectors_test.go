package urlsig

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

type vectorFile struct {
	KeyHex  string `json:"key_hex"`
	Vectors []struct {
		ObjectKey    string            `json:"object_key"`
		Params       map[string]string `json:"params"`
		StringToSign string            `json:"string_to_sign"`
		S            string            `json:"s"`
		URL          string            `json:"url"`
	} `json:"vectors"`
}

func loadVectors(t testing.TB) (*KeyRing, vectorFile) {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Vectors) != 5 {
		t.Fatalf("want the 5 vectors of the README's URL contract, got %d", len(vf.Vectors))
	}
	key, err := hex.DecodeString(vf.KeyHex)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := NewKeyRing([][]byte{key})
	if err != nil {
		t.Fatal(err)
	}
	return ring, vf
}

func TestVectorsSign(t *testing.T) {
	ring, vf := loadVectors(t)
	for _, v := range vf.Vectors {
		var ps []Param
		for n, val := range v.Params {
			ps = append(ps, Param{n, val})
		}
		toSign, err := ToSign(v.ObjectKey, ps)
		if err != nil {
			t.Fatalf("%s: %v", v.ObjectKey, err)
		}
		if toSign != v.StringToSign {
			t.Errorf("string to sign: got %q, want %q", toSign, v.StringToSign)
		}
		if s := ring.Signature(toSign); s != v.S {
			t.Errorf("%s: signature %q, want %q", toSign, s, v.S)
		}
		u, err := ring.URL(v.ObjectKey, ps)
		if err != nil || u != v.URL {
			t.Errorf("URL: got %q, %v; want %q", u, err, v.URL)
		}
	}
}

func TestVectorsVerify(t *testing.T) {
	ring, vf := loadVectors(t)
	for _, v := range vf.Vectors {
		u, err := Parse(v.URL)
		if err != nil {
			t.Fatalf("%s: %v", v.URL, err)
		}
		if u.Key != v.ObjectKey || u.ToSign != v.StringToSign || len(u.Params) != len(v.Params) {
			t.Errorf("%s: parsed key %q, to-sign %q, %d params", v.URL, u.Key, u.ToSign, len(u.Params))
		}
		for _, p := range u.Params {
			if v.Params[p.Name] != p.Value {
				t.Errorf("%s: param %s=%q, want %q", v.URL, p.Name, p.Value, v.Params[p.Name])
			}
		}
		if err := ring.Verify(u); err != nil {
			t.Errorf("%s: %v", v.URL, err)
		}
		// One byte changed anywhere must fail: either the URL stops being
		// canonical, or its signature stops matching.
		for i := 0; i < len(v.URL); i++ {
			for _, delta := range []byte{1, 0x20, 0x80} {
				b := []byte(v.URL)
				b[i] ^= delta
				mu, err := Parse(string(b))
				if err == nil {
					err = ring.Verify(mu)
				}
				if err == nil {
					t.Errorf("%q (byte %d ^ %#x) verified", b, i, delta)
				}
			}
		}
	}
}

func TestRotation(t *testing.T) {
	oldKey := make([]byte, 32)
	newKey := make([]byte, 32)
	newKey[0] = 1
	oldRing, _ := NewKeyRing([][]byte{oldKey})
	both, _ := NewKeyRing([][]byte{newKey, oldKey})
	newOnly, _ := NewKeyRing([][]byte{newKey})

	old, _ := oldRing.URL("a.jpg", []Param{{"w", "10"}})
	fresh, _ := both.URL("a.jpg", []Param{{"w", "10"}})
	for _, c := range []struct {
		ring *KeyRing
		url  string
		want int
	}{
		{both, old, 1},
		{both, fresh, 0},
		{newOnly, fresh, 0},
		{newOnly, old, -1},
		{oldRing, fresh, -1},
	} {
		u, err := Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.ring.Match(u.ToSign, u.Sig); got != c.want {
			t.Errorf("Match(%s) = %d, want %d", c.url, got, c.want)
		}
		if err := c.ring.Verify(u); (err == nil) != (c.want >= 0) {
			t.Errorf("Verify(%s) = %v", c.url, err)
		}
	}
}

func TestKeys(t *testing.T) {
	if _, err := NewKeyRing(nil); err == nil {
		t.Error("empty ring accepted")
	}
	if _, err := NewKeyRing([][]byte{make([]byte, 31)}); err == nil {
		t.Error("31-byte key accepted")
	}
	secret := "zz" + hex.EncodeToString(make([]byte, 31))
	_, err := ParseKeys([]string{hex.EncodeToString(make([]byte, 32)), secret, "00ff"})
	if err == nil {
		t.Fatal("bad keys accepted")
	}
	if msg := err.Error(); !containsAll(msg, "key 2 is not hex", "key 3 is 2 bytes") || strings.Contains(msg, secret) || strings.Contains(msg, "00ff") {
		t.Errorf("error %q should name keys by position only", msg)
	}
}

func TestStrictSignatureEncoding(t *testing.T) {
	ring, vf := loadVectors(t)
	v := vf.Vectors[0]
	// The last character of a 43-character signature carries 2 unused bits;
	// a sloppy decoder accepts 4 spellings of the same signature.
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := v.S[len(v.S)-1]
	for i := 0; i < len(alphabet); i++ {
		c := alphabet[i]
		if c == last {
			continue
		}
		if ring.Match(v.StringToSign, v.S[:len(v.S)-1]+string(c)) >= 0 {
			t.Errorf("signature with last character %q verified", c)
		}
	}
	if !errors.Is(ring.Verify(&URL{ToSign: v.StringToSign}), ErrNoSignature) {
		t.Error("missing signature not ErrNoSignature")
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
