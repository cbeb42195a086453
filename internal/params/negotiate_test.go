package params

import "testing"

func TestNegotiate(t *testing.T) {
	chrome := "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
	for _, c := range []struct {
		name   string
		opts   Options
		accept string
		want   Format
	}{
		{"no auto ignores accept", Options{Format: FormatJPEG}, chrome, FormatJPEG},
		{"no auto no fm", Options{}, chrome, FormatDefault},
		{"chrome", Options{AutoFormat: true}, chrome, FormatAVIF},
		{"webp only", Options{AutoFormat: true}, "image/webp,*/*", FormatWebP},
		{"case and spaces", Options{AutoFormat: true}, " Image/WebP ; q=0.9 , */*", FormatWebP},
		{"avif refused", Options{AutoFormat: true}, "image/avif;q=0, image/webp", FormatWebP},
		{"avif refused 0.000", Options{AutoFormat: true}, "image/avif; q=0.000", FormatDefault},
		{"q=0.5 accepted", Options{AutoFormat: true}, "image/avif;q=0.5", FormatAVIF},
		{"wildcards do not count", Options{AutoFormat: true}, "image/*,*/*", FormatDefault},
		{"fallback fm", Options{AutoFormat: true, Format: FormatPNG}, "text/html", FormatPNG},
		{"empty accept", Options{AutoFormat: true, Format: FormatGIF}, "", FormatGIF},
		{"substring is not a match", Options{AutoFormat: true}, "image/avifx,image/webp2", FormatDefault},
	} {
		if got := c.opts.Negotiate(c.accept); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCacheKey(t *testing.T) {
	base := CacheKey("/a.jpg?auto=format&w=320", FormatAVIF)
	for _, c := range []struct {
		toSign string
		f      Format
		same   bool
	}{
		{"/a.jpg?auto=format&exp=1893456000&w=320", FormatAVIF, true},
		{"/a.jpg?auto=format&exp=1&w=320", FormatAVIF, true},
		{"/a.jpg?auto=format&w=320", FormatWebP, false},
		{"/a.jpg?auto=format&w=321", FormatAVIF, false},
		{"/b.jpg?auto=format&w=320", FormatAVIF, false},
		{"/a.jpg?auto=format&v=2&w=320", FormatAVIF, false},
	} {
		if got := CacheKey(c.toSign, c.f) == base; got != c.same {
			t.Errorf("CacheKey(%q, %v) same=%v, want %v", c.toSign, c.f, got, c.same)
		}
	}
	for in, want := range map[string]string{
		"/a.jpg":                             "/a.jpg",
		"/a.jpg?exp=5":                       "/a.jpg",
		"/a.jpg?exp=5&w=1":                   "/a.jpg?w=1",
		"/a.jpg?auto=format&exp=5":           "/a.jpg?auto=format",
		"/a.jpg?bg=ffffff&exp=5&fit=contain": "/a.jpg?bg=ffffff&fit=contain",
		"/exp=1.jpg?w=1":                     "/exp=1.jpg?w=1",
	} {
		if got := withoutExp(in); got != want {
			t.Errorf("withoutExp(%q) = %q, want %q", in, got, want)
		}
	}
}
