package urlsig

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const sig = "J0dnIbFpJJyLFhQ9RGshlmd6fVuxPMFxZEu7VhCMo3k"

func TestParseRejectsNonCanonical(t *testing.T) {
	for _, c := range []struct {
		name, uri, why string
	}{
		{"no leading slash", "photos/cat.jpg?s=" + sig, "start with /"},
		{"empty path", "?s=" + sig, "start with /"},
		{"root", "/?s=" + sig, "empty object key"},
		{"empty segment", "/a//b.jpg?s=" + sig, "empty path segment"},
		{"leading empty segment", "//b.jpg?s=" + sig, "empty path segment"},
		{"trailing slash", "/a/?s=" + sig, "empty path segment"},
		{"trailing slash escaped key", "/a%20b/?s=" + sig, "empty path segment"},
		{"dot segment", "/a/./b.jpg?s=" + sig, `"." path segment`},
		{"dotdot segment", "/a/../b.jpg?s=" + sig, `".." path segment`},
		{"escaped tilde", "/a%7Eb.jpg?s=" + sig, `must be written as "~"`},
		{"escaped letter", "/%61.jpg?s=" + sig, `must be written as "a"`},
		{"lower-case escape", "/a%c3%9f.jpg?s=" + sig, "upper-case hex"},
		{"truncated escape", "/a%C.jpg?s=" + sig, "upper-case hex"},
		{"escape at end", "/a.jpg%2?s=" + sig, "truncated escape"},
		{"raw space", "/a b.jpg?s=" + sig, "must be escaped as %20"},
		{"raw plus", "/a+b.jpg?s=" + sig, "must be escaped as %2B"},
		{"escaped slash", "/a%2Fb.jpg?s=" + sig, `escaped "/"`},
		{"control byte", "/a%0Ab.jpg?s=" + sig, "control byte 0x0a"},
		{"delete byte", "/a%7Fb.jpg?s=" + sig, "control byte 0x7f"},
		{"invalid utf-8", "/a%FF.jpg?s=" + sig, "not valid UTF-8"},
		{"too long", "/" + strings.Repeat("a", 1025) + "?s=" + sig, "1025 bytes"},
		{"empty query", "/a.jpg?", "empty query"},
		{"reordered", "/a.jpg?w=400&fm=webp&s=" + sig, `"fm" must come before "w"`},
		{"duplicate", "/a.jpg?w=400&w=400&s=" + sig, `duplicate parameter "w"`},
		{"unknown", "/a.jpg?r=123&s=" + sig, `unknown parameter "r"`},
		{"unknown after s", "/a.jpg?s=" + sig + "&r=123", "s must be the last"},
		{"s first", "/a.jpg?s=" + sig + "&w=1", "s must be the last"},
		{"empty value", "/a.jpg?w=&s=" + sig, `"w" has an empty value`},
		{"no value", "/a.jpg?enlarge&s=" + sig, `"enlarge" has no value`},
		{"empty param", "/a.jpg?w=1&&s=" + sig, "empty parameter"},
		{"plus for space", "/a.jpg?v=a+b&s=" + sig, "must be escaped as %2B"},
		{"upper-case name", "/a.jpg?W=1&s=" + sig, `unknown parameter "W"`},
		{"escaped value", "/a.jpg?fm=%77ebp&s=" + sig, `must be written as "w"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.uri)
			if !errors.Is(err, ErrNotCanonical) {
				t.Fatalf("Parse(%q) = %v, want ErrNotCanonical", c.uri, err)
			}
			if !strings.Contains(err.Error(), c.why) {
				t.Errorf("error %q does not say %q", err, c.why)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	long := strings.Repeat("a", 1024)
	for _, c := range []struct {
		uri, key string
		params   []Param
	}{
		{"/" + long + "?s=" + sig, long, nil},
		{"/a.jpg?s=" + sig, "a.jpg", nil},
		{"/a/b~c-d_e.f?w=1&s=" + sig, "a/b~c-d_e.f", []Param{{"w", "1"}}},
		{"/%C3%A9t%C3%A9/%20.jpg?bg=ffffff&v=x_-1&s=" + sig, "été/ .jpg", []Param{{"bg", "ffffff"}, {"v", "x_-1"}}},
		{"/...?s=" + sig, "...", nil},
		{"/a.jpg?v=%25&s=" + sig, "a.jpg", []Param{{"v", "%"}}},
		// Every parameter: more than URL keeps without allocating.
		{"/a.jpg?auto=format&bg=ffffff&blur=1&dpr=2&enlarge=1&exp=1700000000&fit=fill&flip=h&fm=webp&h=10" +
			"&position=top&q=80&rot=90&sharpen=1&v=2&w=10&s=" + sig, "a.jpg", []Param{
			{"auto", "format"}, {"bg", "ffffff"}, {"blur", "1"}, {"dpr", "2"}, {"enlarge", "1"}, {"exp", "1700000000"},
			{"fit", "fill"}, {"flip", "h"}, {"fm", "webp"}, {"h", "10"}, {"position", "top"}, {"q", "80"},
			{"rot", "90"}, {"sharpen", "1"}, {"v", "2"}, {"w", "10"}}},
	} {
		u, err := Parse(c.uri)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.uri, err)
			continue
		}
		if u.Key != c.key || u.Sig != sig || len(u.Params) != len(c.params) {
			t.Errorf("Parse(%q) = key %q sig %q params %v", c.uri, u.Key, u.Sig, u.Params)
			continue
		}
		for i := range c.params {
			if u.Params[i] != c.params[i] {
				t.Errorf("Parse(%q) param %d = %v, want %v", c.uri, i, u.Params[i], c.params[i])
			}
		}
	}
}

func TestParseMissingSignature(t *testing.T) {
	for _, uri := range []string{"/a.jpg", "/a.jpg?w=1", "/a.jpg?w=1&s=", "/a.jpg?s="} {
		u, err := Parse(uri)
		if !errors.Is(err, ErrNoSignature) {
			t.Errorf("Parse(%q) = %v, want ErrNoSignature", uri, err)
			continue
		}
		if u.Key != "a.jpg" {
			t.Errorf("Parse(%q) key %q", uri, u.Key)
		}
	}
}

func TestBuildRejects(t *testing.T) {
	for _, c := range []struct {
		key    string
		params []Param
	}{
		{"", nil},
		{"a//b", nil},
		{"/a", nil},
		{"a/", nil},
		{"a/../b", nil},
		{"a\x00b", nil},
		{"a\xffb", nil},
		{strings.Repeat("x", 1025), nil},
		{"a", []Param{{"s", "x"}}},
		{"a", []Param{{"nope", "x"}}},
		{"a", []Param{{"w", ""}}},
		{"a", []Param{{"w", "1"}, {"w", "2"}}},
	} {
		if s, err := ToSign(c.key, c.params); !errors.Is(err, ErrNotCanonical) {
			t.Errorf("ToSign(%q, %v) = %q, %v", c.key, c.params, s, err)
		}
	}
}

func TestExpiry(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, c := range []struct {
		exp  string
		want error
	}{
		{"1800000001", nil},
		{"1800000000", ErrExpired},
		{"0", ErrExpired},
		{"01800000001", ErrNotCanonical},
		{"+1800000001", ErrNotCanonical},
		{"1e10", ErrNotCanonical},
		{"9999999999999999999999", ErrNotCanonical},
	} {
		u := &URL{}
		u.Params = []Param{{"exp", c.exp}}
		err := u.CheckExpiry(now)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("exp=%s: %v, want %v", c.exp, err, c.want)
		}
	}
	if err := (&URL{}).CheckExpiry(now); err != nil {
		t.Errorf("no exp: %v", err)
	}
}
