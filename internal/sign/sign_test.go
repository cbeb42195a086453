package sign

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

const vectorKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func newSigner(t testing.TB, base string) *Signer {
	t.Helper()
	k, _ := hex.DecodeString(vectorKey)
	ring, err := urlsig.NewKeyRing([][]byte{k})
	if err != nil {
		t.Fatal(err)
	}
	return &Signer{Ring: ring, BaseURL: base, Limits: params.DefaultLimits}
}

func ps(kv ...string) []urlsig.Param {
	var out []urlsig.Param
	for i := 0; i < len(kv); i += 2 {
		out = append(out, urlsig.Param{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

func TestURL(t *testing.T) {
	s := newSigner(t, "https://img.example.com")
	got, err := s.URL("photos/cat.jpg", ps("w", "400", "fm", "webp", "q", "80"))
	want := "https://img.example.com/photos/cat.jpg?fm=webp&q=80&w=400&s=J0dnIbFpJJyLFhQ9RGshlmd6fVuxPMFxZEu7VhCMo3k"
	if err != nil || got != want {
		t.Errorf("got %q, %v", got, err)
	}
	// Whatever the server would answer 400, sign refuses.
	for _, bad := range [][]urlsig.Param{
		ps("w", "0"), ps("w", "8193"), ps("w", "5000", "dpr", "2"), ps("fit", "crop"),
		ps("q", "080"), ps("r", "1"), ps("s", "x"), ps("bg", "FFFFFF"), ps("w", ""),
	} {
		if u, err := s.URL("a.jpg", bad); err == nil {
			t.Errorf("%v signed: %s", bad, u)
		}
	}
	if _, err := s.URL("a//b.jpg", nil); !errors.Is(err, urlsig.ErrNotCanonical) {
		t.Errorf("bad key: %v", err)
	}
}

func TestSrcset(t *testing.T) {
	s := newSigner(t, "")
	got, err := s.Srcset("a.jpg", ps("fm", "webp"), []int{320, 640})
	if err != nil {
		t.Fatal(err)
	}
	u320, _ := s.URL("a.jpg", ps("fm", "webp", "w", "320"))
	u640, _ := s.URL("a.jpg", ps("fm", "webp", "w", "640"))
	if want := u320 + " 320w, " + u640 + " 640w"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	// h scales with the width: 400x300 at 320 wide is 320x240.
	got, err = s.Srcset("a.jpg", ps("w", "400", "h", "300"), []int{320, 3})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "h=240&w=320&") || !strings.Contains(got, "h=2&w=3&") {
		t.Errorf("h not scaled: %s", got)
	}
	if _, err := s.Srcset("a.jpg", ps("h", "300"), []int{320}); err == nil {
		t.Error("h without w accepted")
	}
	if _, err := s.Srcset("a.jpg", nil, []int{320, 9000}); err == nil {
		t.Error("width over max_output_dim accepted")
	}
	for in, want := range map[[3]int]int{{300, 400, 320}: 240, {1, 1000, 1}: 1, {3, 2, 1}: 2, {5, 4, 2}: 3} {
		if got := ScaleHeight(in[0], in[1], in[2]); got != want {
			t.Errorf("ScaleHeight%v = %d, want %d", in, got, want)
		}
	}
}

func TestPicture(t *testing.T) {
	s := newSigner(t, "https://img.example.com")
	alt := `A "cat" <b>&</b> 'dog'`
	out, err := s.Picture("photos/cat & dog.jpg", ps("w", "800", "h", "600"),
		PictureOptions{Widths: []int{400, 800}, Sizes: "(max-width: 800px) 100vw, 800px", Alt: alt})
	if err != nil {
		t.Fatal(err)
	}
	// Parse it as a browser would and check every attribute survives.
	type el struct {
		name  string
		attrs map[string]string
	}
	var els []el
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		e := el{tok.Data, map[string]string{}}
		for _, a := range tok.Attr {
			if _, dup := e.attrs[a.Key]; dup {
				t.Errorf("duplicate attribute %s", a.Key)
			}
			e.attrs[a.Key] = a.Val
		}
		els = append(els, e)
	}
	if len(els) != 4 || els[0].name != "picture" || els[1].name != "source" || els[2].name != "source" || els[3].name != "img" {
		t.Fatalf("structure: %+v\n%s", els, out)
	}
	avif, webp, img := els[1].attrs, els[2].attrs, els[3].attrs
	wantSet := func(fm string) string {
		var p []urlsig.Param
		if fm != "" {
			p = ps("fm", fm)
		}
		set, err := s.Srcset("photos/cat & dog.jpg", append(p, ps("w", "800", "h", "600")...), []int{400, 800})
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	if avif["type"] != "image/avif" || avif["srcset"] != wantSet("avif") {
		t.Errorf("avif source: %v", avif)
	}
	if webp["type"] != "image/webp" || webp["srcset"] != wantSet("webp") {
		t.Errorf("webp source: %v", webp)
	}
	src, _ := s.URL("photos/cat & dog.jpg", ps("w", "800", "h", "600"))
	if img["src"] != src || img["srcset"] != wantSet("") || img["alt"] != alt ||
		img["width"] != "800" || img["height"] != "600" || img["loading"] != "lazy" ||
		img["decoding"] != "async" || img["sizes"] != "(max-width: 800px) 100vw, 800px" {
		t.Errorf("img: %v", img)
	}
	if strings.Contains(out, "<b>") || strings.Contains(out, "&w=") {
		t.Errorf("unescaped markup:\n%s", out)
	}

	// A single URL: no descriptors, no width/height without both w and h.
	out, err = s.Picture("a.jpg", nil, PictureOptions{})
	if err != nil || strings.Contains(out, "width=") || !strings.Contains(out, `alt=""`) || strings.Contains(out, " 0w") {
		t.Errorf("plain picture: %v\n%s", err, out)
	}
	if _, err := s.Picture("a.jpg", ps("fm", "png"), PictureOptions{}); err == nil {
		t.Error("fm accepted with picture")
	}
	if _, err := s.Picture("a.jpg", nil, PictureOptions{Sizes: "100vw"}); err == nil {
		t.Error("sizes without widths accepted")
	}
}

func TestBatch(t *testing.T) {
	s := newSigner(t, "https://img.example.com")
	in := strings.Join([]string{
		`{"key": "photos/cat.jpg", "params": {"w": "400", "fm": "webp", "q": 80}}`,
		`{"key": "photos/cat.jpg", "params": {"w": "0"}}`,
		``,
		`not json`,
		`{"key": "a.jpg", "parms": {"w": "10"}}`,
		`{"key": "a.jpg", "params": {"fm": "webp"}, "widths": [320, 640]}`,
		`{"key": "a.jpg", "params": {"w": 1.5}}`,
		`{"key": "b.jpg"}`,
	}, "\n")
	var out bytes.Buffer
	failed, err := s.Batch(strings.NewReader(in), &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if failed != 5 {
		t.Errorf("failed = %d, want 5", failed)
	}
	var lines []batchOut
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var o batchOut
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("output line %q: %v", l, err)
		}
		lines = append(lines, o)
	}
	if len(lines) != 8 {
		t.Fatalf("%d output lines for 8 input lines:\n%s", len(lines), out.String())
	}
	want0 := "https://img.example.com/photos/cat.jpg?fm=webp&q=80&w=400&s=J0dnIbFpJJyLFhQ9RGshlmd6fVuxPMFxZEu7VhCMo3k"
	if lines[0].URL != want0 || lines[0].Error != "" {
		t.Errorf("line 1: %+v", lines[0])
	}
	for i, sub := range map[int]string{1: "line 2: invalid parameter w", 2: "line 3: blank line", 3: "line 4: bad JSON", 4: `unknown field "parms"`, 6: "invalid parameter w"} {
		if lines[i].URL != "" || !strings.Contains(lines[i].Error, sub) {
			t.Errorf("output %d: %+v, want error %q", i, lines[i], sub)
		}
	}
	set, _ := s.Srcset("a.jpg", ps("fm", "webp"), []int{320, 640})
	if lines[5].Srcset != set || lines[5].URL == "" {
		t.Errorf("srcset line: %+v", lines[5])
	}
	if lines[7].Key != "b.jpg" || !strings.Contains(lines[7].URL, "/b.jpg?s=") {
		t.Errorf("no params: %+v", lines[7])
	}
	if strings.Contains(out.String(), `\u0026`) {
		t.Error("output escapes & as \\u0026")
	}

	// --expires adds exp to lines that do not set it.
	out.Reset()
	_, err = s.Batch(strings.NewReader(`{"key":"a.jpg"}`+"\n"+`{"key":"b.jpg","params":{"exp":"5"}}`), &out, ps("exp", "1893456000"))
	if err != nil || !strings.Contains(out.String(), "a.jpg?exp=1893456000&s=") || !strings.Contains(out.String(), "b.jpg?exp=5&s=") {
		t.Errorf("extra params: %v\n%s", err, out.String())
	}
}

func batchInput(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"key": "photos/%d/IMG_%04d.jpg", "params": {"w": "%d", "fm": "webp", "q": "80"}}`+"\n", i%100, i, 100+i%1000)
	}
	return b.Bytes()
}

// BenchmarkBatch10k signs 10,000 lines per iteration.
func BenchmarkBatch10k(b *testing.B) {
	s := newSigner(b, "https://img.example.com")
	in := batchInput(10_000)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		failed, err := s.Batch(bytes.NewReader(in), io.Discard, nil)
		if err != nil || failed != 0 {
			b.Fatal(failed, err)
		}
	}
}

// The hand-written JSON output is what encoding/json writes.
func TestBatchOutputMatchesEncodingJSON(t *testing.T) {
	for _, o := range []batchOut{
		{Key: "photos/cat.jpg", URL: "https://x/a.jpg?fm=webp&w=1&s=abc"},
		{Key: "a\"b\\c\n\r\t\x01\x1f<>&é😀\u2028\u2029\xff", Error: "line 3: bad"},
		{Key: "k", URL: "/k?s=x", Srcset: "/k?w=1&s=x 1w, /k?w=2&s=y 2w"},
		{Key: "", Error: "bad JSON: unexpected end"},
	} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		enc.Encode(&o)
		if got := string(o.appendJSON(nil)); got != want.String() {
			t.Errorf("got  %s\nwant %s", got, want.String())
		}
	}
}

// A descriptor is the candidate's real pixel width: a browser divides it by
// the slot's width to get the density, and draws pixels/density wide.
func TestSrcsetDescriptorsArePixelWidths(t *testing.T) {
	s := newSigner(t, "")
	for _, c := range []struct {
		dpr    string
		widths []int
		want   []string // descriptors, in order
	}{
		{"", []int{640, 320, 640}, []string{"320w", "640w"}}, // sorted, each once
		{"2", []int{300}, []string{"600w"}},
		{"1.5", []int{101, 300}, []string{"152w", "450w"}}, // 151.5 rounds half up, as the server does
		{"2.25", []int{3, 1}, []string{"2w", "7w"}},        // 2.25, 6.75
	} {
		p := ps("fm", "webp")
		if c.dpr != "" {
			p = append(p, ps("dpr", c.dpr)...)
		}
		set, err := s.Srcset("a.jpg", p, c.widths)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for cand := range strings.SplitSeq(set, ", ") {
			_, d, _ := strings.Cut(cand, " ")
			got = append(got, d)
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("dpr %q widths %v: descriptors %v, want %v", c.dpr, c.widths, got, c.want)
		}
	}
	if ws, err := ParseWidths("640, 320,640,1280"); err != nil || fmt.Sprint(ws) != "[320 640 1280]" {
		t.Errorf("ParseWidths: %v %v", ws, err)
	}
}

func TestPictureSizesAndDimensions(t *testing.T) {
	s := newSigner(t, "")
	img := func(out string) string {
		i := strings.Index(out, "<img")
		return out[i : strings.Index(out[i:], ">")+i+1]
	}
	for _, c := range []struct {
		name   string
		params []urlsig.Param
		o      PictureOptions
		want   []string // in <img>
		absent []string
	}{
		{"w alone", ps("w", "300"), PictureOptions{},
			[]string{` 300w"`, `sizes="(max-width: 300px) 100vw, 300px"`, `width="300"`}, []string{"height="}},
		{"dpr 2", ps("w", "300", "dpr", "2"), PictureOptions{},
			[]string{` 600w"`, `sizes="(max-width: 300px) 100vw, 300px"`, `width="300"`}, []string{" 300w", "height="}},
		{"w and h", ps("w", "800", "h", "600"), PictureOptions{Widths: []int{400, 800}},
			[]string{` 400w, `, ` 800w"`, `sizes="(max-width: 800px) 100vw, 800px"`, `width="800" height="600"`}, nil},
		{"own sizes", ps("w", "800", "h", "600"), PictureOptions{Widths: []int{400, 800}, Sizes: "50vw"},
			[]string{`sizes="50vw"`, `width="800" height="600"`}, []string{"max-width"}},
		{"widths and sizes without w", nil, PictureOptions{Widths: []int{400, 800}, Sizes: "50vw"},
			[]string{`sizes="50vw"`, ` 800w"`}, []string{"width=", "height="}},
		// inside and outside keep the original's aspect ratio, unknown here.
		{"fit inside", ps("w", "800", "h", "600", "fit", "inside"), PictureOptions{},
			[]string{` 800w"`, `sizes="(max-width: 800px) 100vw, 800px"`}, []string{"width=", "height="}},
		{"h alone at dpr 2", ps("h", "200", "dpr", "2"), PictureOptions{},
			[]string{` 2x"`, `height="200"`}, []string{"sizes=", "width="}},
		{"h alone", ps("h", "200"), PictureOptions{},
			[]string{`height="200"`}, []string{"srcset=", "sizes=", "width="}},
	} {
		out, err := s.Picture("a.jpg", c.params, c.o)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		tag := img(out)
		for _, w := range c.want {
			if !strings.Contains(tag, w) {
				t.Errorf("%s: <img> lacks %s:\n%s", c.name, w, tag)
			}
		}
		for _, a := range c.absent {
			if strings.Contains(tag, a) {
				t.Errorf("%s: <img> has %s:\n%s", c.name, a, tag)
			}
		}
		if got, want := strings.Count(out, "sizes="), strings.Count(tag, "sizes=")*3; got != want {
			t.Errorf("%s: %d sizes attributes, want one on each source and the img", c.name, got)
		}
	}
	// A srcset without a slot would be drawn as wide as the window.
	if _, err := s.Picture("a.jpg", nil, PictureOptions{Widths: []int{320, 640}}); err == nil || !strings.Contains(err.Error(), "sizes") {
		t.Errorf("widths without w or sizes: %v", err)
	}
}

func TestLeadingSlashSaysDropIt(t *testing.T) {
	s := newSigner(t, "")
	_, err := s.URL("/photos/x.jpg", nil)
	if err == nil || !strings.Contains(err.Error(), "drop it (photos/x.jpg)") {
		t.Errorf("leading slash: %v", err)
	}
}
