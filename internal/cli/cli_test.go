package cli

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	vectorKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	otherKey  = "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f"
	vector1   = "/photos/cat.jpg?fm=webp&q=80&w=400&s=J0dnIbFpJJyLFhQ9RGshlmd6fVuxPMFxZEu7VhCMo3k"
)

// run runs the command line in-process, in an empty directory (so no
// configs/imgproxy.yaml is picked up), with the given signing keys.
func run(t *testing.T, keys, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Chdir(t.TempDir())
	t.Setenv("IMGPROXY_SIGNING_KEYS", keys)
	t.Setenv("IMGPROXY_SIGNING_BASE_URL", "")
	var out, errOut bytes.Buffer
	code = Main(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestSignOneURL(t *testing.T) {
	code, out, errOut := run(t, vectorKey, "", "sign", "photos/cat.jpg", "-w", "400", "--fm", "webp", "-q", "80")
	if code != 0 || out != vector1+"\n" || errOut != "" {
		t.Fatalf("code %d out %q err %q", code, out, errOut)
	}
	// Every parameter has a flag, and the base URL comes from the environment.
	t.Setenv("IMGPROXY_SIGNING_BASE_URL", "https://img.example.com/")
	var o bytes.Buffer
	code = Main([]string{"sign", "a b.jpg", "-w", "10", "-h", "20", "--dpr", "1.5", "--fit", "contain",
		"--position", "smart", "--enlarge", "--fm", "png", "--auto", "format", "-q", "50", "--blur", "2",
		"--sharpen", "1.5", "--rot", "90", "--flip", "hv", "--bg", "ff000080", "--v", "abc"}, nil, &o, &o)
	want := "https://img.example.com/a%20b.jpg?auto=format&bg=ff000080&blur=2&dpr=1.5&enlarge=1&fit=contain&flip=hv&fm=png&h=20&position=smart&q=50&rot=90&sharpen=1.5&v=abc&w=10&s="
	if code != 0 || !strings.HasPrefix(o.String(), want) {
		t.Errorf("all flags: %d %q", code, o.String())
	}
}

func TestSignRefusesWhatTheServerWould(t *testing.T) {
	for _, args := range [][]string{
		{"sign", "a.jpg", "-w", "0"},
		{"sign", "a.jpg", "-w", "9000"},
		{"sign", "a.jpg", "--dpr", "1.50"},
		{"sign", "a//b.jpg"},
		{"sign", "a.jpg", "--expires", "-1h"},
		{"sign", "a.jpg", "--widths", "320,x"},
		{"sign", "a.jpg", "--alt", "no picture"},
		{"sign"},
		{"sign", "a.jpg", "--batch"},
		{"sign", "a.jpg", "--key", vectorKey},
	} {
		code, out, errOut := run(t, vectorKey, "", args...)
		if code != 1 || out != "" || errOut == "" {
			t.Errorf("%v: code %d out %q err %q", args, code, out, errOut)
		}
		if strings.Contains(errOut, vectorKey) {
			t.Errorf("%v: key in error output", args)
		}
	}
	code, _, errOut := run(t, "", "", "sign", "a.jpg")
	if code != 1 || !strings.Contains(errOut, "no signing key") {
		t.Errorf("no key: %d %q", code, errOut)
	}
}

func TestSignExpires(t *testing.T) {
	before := time.Now().Add(24 * time.Hour).Unix()
	_, out, _ := run(t, vectorKey, "", "sign", "a.jpg", "--expires", "24h")
	after := time.Now().Add(24 * time.Hour).Unix()
	i := strings.Index(out, "exp=")
	if i < 0 {
		t.Fatalf("no exp in %q", out)
	}
	exp, _ := strconv.ParseInt(out[i+4:strings.IndexByte(out[i:], '&')+i], 10, 64)
	if exp < before || exp > after {
		t.Errorf("exp %d not in [%d, %d]", exp, before, after)
	}
	_, out, _ = run(t, vectorKey, "", "sign", "a.jpg", "--expires", "2030-01-01T00:00:00Z")
	if !strings.Contains(out, "exp=1893456000&") {
		t.Errorf("RFC 3339 expiry: %q", out)
	}
}

func TestSignSrcsetAndPicture(t *testing.T) {
	code, out, _ := run(t, vectorKey, "", "sign", "a.jpg", "--fm", "webp", "--widths", "320,640")
	parts := strings.Split(strings.TrimSpace(out), ", ")
	if code != 0 || len(parts) != 2 || !strings.HasSuffix(parts[0], " 320w") || !strings.Contains(parts[1], "w=640&s=") {
		t.Errorf("srcset: %q", out)
	}
	code, out, _ = run(t, vectorKey, "", "sign", "a.jpg", "-w", "800", "-h", "600", "--widths", "400,800",
		"--picture", "--sizes", "50vw", "--alt", `<"cat">`)
	for _, want := range []string{`<source type="image/avif"`, `<source type="image/webp"`, `width="800" height="600"`,
		`alt="&lt;&#34;cat&#34;&gt;"`, `sizes="50vw"`, `loading="lazy" decoding="async">`, "fm=avif&amp;h=300&amp;w=400&amp;s="} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("picture lacks %q:\n%s", want, out)
		}
	}
}

func TestSignBatch(t *testing.T) {
	in := `{"key": "photos/cat.jpg", "params": {"w": "400", "fm": "webp", "q": "80"}}
{"key": "x.jpg", "params": {"w": "-1"}}
{"key": "y.jpg", "widths": [100, 200]}
`
	code, out, errOut := run(t, vectorKey, in, "sign", "--batch")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(lines) != 3 || !strings.Contains(errOut, "1 line(s) failed") {
		t.Fatalf("code %d err %q out:\n%s", code, errOut, out)
	}
	if lines[0] != `{"key":"photos/cat.jpg","url":"`+vector1+`"}` || !strings.Contains(lines[1], `"error"`) ||
		!strings.Contains(lines[2], `"srcset"`) {
		t.Errorf("lines:\n%s", out)
	}
	code, _, _ = run(t, vectorKey, `{"key":"a.jpg"}`, "sign", "--batch")
	if code != 0 {
		t.Errorf("all good: exit %d", code)
	}
}

func TestKeyFile(t *testing.T) {
	kf := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(kf, []byte("# rotated 2026-11\n"+vectorKey+"\n"+otherKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// --key-file wins over the environment.
	code, out, errOut := run(t, otherKey, "", "sign", "photos/cat.jpg", "-w", "400", "--fm", "webp", "-q", "80", "--key-file", kf)
	if code != 0 || out != vector1+"\n" {
		t.Errorf("key file: %d %q %q", code, out, errOut)
	}
}

func TestVerify(t *testing.T) {
	for _, c := range []struct {
		name, keys, url string
		code            int
		want            []string
	}{
		{"vector", vectorKey, "https://img.example.com" + vector1, 0,
			[]string{"canonical:  yes", "matches key 1 of 1", "expiry:     none", "accepted"}},
		{"rotated", otherKey + "," + vectorKey, vector1, 0, []string{"matches key 2 of 2"}},
		{"wrong key", otherKey, vector1, 1, []string{"matches none of the 1", "403", "refused"}},
		{"no key", "", vector1, 1, []string{"no signing key configured"}},
		{"no signature", vectorKey, "/photos/cat.jpg?w=400", 1, []string{"missing (the server answers 403)"}},
		{"reordered", vectorKey, "/photos/cat.jpg?w=400&fm=webp&q=80&s=J0dnIbFpJJyLFhQ9RGshlmd6fVuxPMFxZEu7VhCMo3k", 1,
			[]string{`"fm" must come before "w"`, "canonical form: " + vector1, "matches key 1"}},
		{"stray param", vectorKey, "/photos/cat.jpg?fm=webp&q=80&r=123&w=400&s=J0dnIbFpJJyLFhQ9RGshlmd6fVuxPMFxZEu7VhCMo3k", 1,
			[]string{`unknown parameter "r"`, `"r" is not part of the contract`, "canonical form: " + vector1}},
		{"lower-case escape signed as sent", vectorKey, "/a%c3%a9.jpg?s=" + sigOf("/a%c3%a9.jpg"), 1,
			[]string{"upper-case hex", "canonical form: /a%C3%A9.jpg?s=", "over the URL as sent: the signer does not canonicalize"}},
		{"expired", vectorKey, "/a.jpg?exp=1000&s=" + sigOf("/a.jpg?exp=1000"), 1, []string{"expired", "410"}},
		{"bad params", vectorKey, "/a.jpg?fit=crop&q=0&s=" + sigOf("/a.jpg?fit=crop&q=0"), 1,
			[]string{"errors:     fit: want one of", "q: want an integer", "matches key 1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, _ := run(t, c.keys, "", "verify", c.url)
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s", code, c.code, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, vectorKey) || strings.Contains(out, otherKey) {
				t.Error("output contains a key")
			}
		})
	}
}

func sigOf(toSign string) string {
	k, _ := hex.DecodeString(vectorKey)
	return macB64(k, toSign)
}

func TestKeygen(t *testing.T) {
	_, a, _ := run(t, "", "", "keygen")
	_, b, _ := run(t, "", "", "keygen")
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if k, err := hex.DecodeString(a); err != nil || len(k) != 32 || a == b {
		t.Errorf("keygen: %q %q", a, b)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "", "", "version")
	if code != 0 || !strings.Contains(out, "imgproxy dev") || !strings.Contains(out, "go:      go1.") || !strings.Contains(out, "libvips: ") {
		t.Errorf("version: %q", out)
	}
}

// A base URL with a path: sign puts the path in front, the signature covers
// the object key and parameters only, and verify cuts the prefix (the
// server's, or the base URL's path) before it checks, as the server does.
func TestSignAndVerifyWithPathPrefix(t *testing.T) {
	t.Setenv("IMGPROXY_SIGNING_BASE_URL", "")
	code, out, errOut := run(t, vectorKey, "", "sign", "photos/cat.jpg", "-w", "400", "--fm", "webp", "-q", "80",
		"--base-url", "https://example.com/img/")
	if want := "https://example.com/img" + vector1 + "\n"; code != 0 || out != want {
		t.Fatalf("sign: %d %q %q, want %q", code, out, errOut, want)
	}
	u := strings.TrimSpace(out)
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want []string
	}{
		{"flag", nil, []string{"--path-prefix", "/img"}, 0, []string{"prefix:     /img, cut before verifying", "matches key 1", "accepted"}},
		{"server.path_prefix", map[string]string{"IMGPROXY_SERVER_PATH_PREFIX": "/img/"}, nil, 0, []string{"prefix:     /img", "accepted"}},
		{"outside the prefix", nil, []string{"--path-prefix", "/pics"}, 1, []string{"not under the path prefix /pics", "404", "refused"}},
		{"no prefix configured", nil, nil, 1, []string{"matches none", "without its leading /img", "server.path_prefix: /img"}},
		{"bad prefix", nil, []string{"--path-prefix", "img"}, 1, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			code, out, errOut := run(t, vectorKey, "", append([]string{"verify", u}, c.args...)...)
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s%s", code, c.code, out, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	// The base URL's path, from the configuration (run sets the variable empty).
	t.Setenv("IMGPROXY_SIGNING_BASE_URL", "https://example.com/img")
	var o bytes.Buffer
	if code := Main([]string{"verify", u}, nil, &o, &o); code != 0 || !strings.Contains(o.String(), "prefix:     /img, cut") {
		t.Errorf("prefix from signing.base_url: %d\n%s", code, o.String())
	}
	// A base URL the server could not be configured to match is refused.
	for _, base := range []string{"https://example.com/img?x=1", "https://example.com/a b", "example.com/img"} {
		if code, _, errOut := run(t, vectorKey, "", "sign", "a.jpg", "--base-url", base); code != 1 || !strings.Contains(errOut, "signing.base_url") {
			t.Errorf("base URL %q: %d %q", base, code, errOut)
		}
	}
}

func TestSignFlagSlips(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sign", "a.jpg", "-w", "300", "-w", "400"}, "--w given twice"},
		{[]string{"sign", "a.jpg", "--fm", "webp", "--fm", "avif"}, "--fm given twice"},
		{[]string{"sign", "a.jpg", "--widths", "1,2", "--widths", "3"}, "--widths given twice"},
		{[]string{"sign", "--batch", "-w", "300"}, "--w shapes one URL"},
		{[]string{"sign", "--batch", "--picture"}, "--picture shapes one URL"},
		{[]string{"sign", "--batch", "--widths", "320,640"}, "--widths shapes one URL"},
		{[]string{"sign", "--batch", "--enlarge"}, "--enlarge shapes one URL"},
		{[]string{"sign", "--batch", "--alt", "x"}, "--alt shapes one URL"},
		{[]string{"sign", "/photos/x.jpg"}, "drop it (photos/x.jpg)"},
	} {
		code, out, errOut := run(t, vectorKey, `{"key":"a.jpg"}`, c.args...)
		if code != 1 || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: %d %q %q, want an error with %q", c.args, code, out, errOut, c.want)
		}
	}
	// --widths is sorted and each width signed once.
	code, out, _ := run(t, vectorKey, "", "sign", "a.jpg", "--widths", "640,320,640")
	if parts := strings.Split(strings.TrimSpace(out), ", "); code != 0 || len(parts) != 2 ||
		!strings.HasSuffix(parts[0], " 320w") || !strings.HasSuffix(parts[1], " 640w") {
		t.Errorf("widths: %q", out)
	}
	// --expires is for every line of a batch, and a blank line is answered.
	code, out, _ = run(t, vectorKey, "{\"key\":\"a.jpg\"}\n\n{\"key\":\"b.jpg\"}\n", "sign", "--batch", "--expires", "2030-01-01T00:00:00Z")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(lines) != 3 || !strings.Contains(lines[0], "exp=1893456000&") ||
		lines[1] != `{"key":"","error":"line 2: blank line: want one JSON object per line"}` || !strings.Contains(lines[2], "b.jpg?exp=") {
		t.Errorf("batch: %d\n%s", code, out)
	}
}
