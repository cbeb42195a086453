package sign

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// fastLines are lines the fast reading takes, and lines it must leave to
// the full one (a malformed line, or one by rules it does not know).
var fastLines = []struct {
	line string
	fast bool
}{
	{`{"key":"a.jpg","params":{"w":400}}`, true},
	{`{"key": "photos/1/IMG_0001.jpg", "params": {"w": "400", "fm": "webp", "q": 80}}`, true},
	{` {"key":"a.jpg"}`, false}, // leading space: valid JSON, left to the full reading
	{"{\"key\":\"a.jpg\"}\r\n", true},
	{`{"params":{"w":-0,"h":"0"},"key":"é/ü.jpg","widths":[320,640, 1280]}`, true},
	{`{"key":"a.jpg","params":null,"widths":null}`, true},
	{`{"key":"a.jpg","params":{},"widths":[]}`, true},
	{`{"key":""}`, true},
	{`{"key":"a.jpg","params":{"":"x"}}`, true},
	{`{}`, false},
	{`{"key":"a.jpg",}`, false},
	{`{"key":"a.jpg"} x`, false},
	{`{"key":"a.jpg"`, false},
	{`{"key":"a\"b"}`, false},
	{"{\"key\":\"a\tb\"}", false},
	{`{"key":"b.jpg","key":"a.jpg"}`, false},
	{`{"key":"a.jpg","params":{"w":1,"w":2}}`, false},
	{`{"key":"a.jpg","params":{"w":400.0}}`, false},
	{`{"key":"a.jpg","params":{"w":4e2}}`, false},
	{`{"key":"a.jpg","params":{"w":04}}`, false},
	{`{"key":"a.jpg","params":{"w":-}}`, false},
	{`{"key":"a.jpg","params":{"w":null}}`, false},
	{`{"key":"a.jpg","params":{"w":true}}`, false},
	{`{"key":"a.jpg","params":[1]}`, false},
	{`{"key":"a.jpg","widths":[0]}`, false},
	{`{"key":"a.jpg","widths":[-320]}`, false},
	{`{"key":"a.jpg","widths":[0320]}`, false},
	{`{"key":"a.jpg","widths":[99999999999999999999]}`, false},
	{`{"key":"a.jpg","widths":["320"]}`, false},
	{`{"KEY":"a.jpg"}`, false},
	{`{"key":null}`, false},
	{`null`, false},
}

// The fast reading takes the common lines, and on every line it takes,
// the full reading (encoding/json, all the rules) reads the same key,
// parameters and widths without an error.
func TestFastBatchLineAgrees(t *testing.T) {
	for _, c := range fastLines {
		_, _, ok := fastBatchLine([]byte(c.line))
		if ok != c.fast {
			t.Errorf("%s: fast reading took it: %v, want %v", c.line, ok, c.fast)
		}
		checkFastAgrees(t, []byte(c.line))
	}
}

func FuzzFastBatchLine(f *testing.F) {
	for _, c := range fastLines {
		f.Add(c.line)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if !utf8.ValidString(line) || strings.Trim(line, " \t\r\n") == "" {
			return // parseBatchLine refuses these before either reading
		}
		checkFastAgrees(t, []byte(line))
	})
}

func checkFastAgrees(t *testing.T, line []byte) {
	t.Helper()
	fin, fkey, ok := fastBatchLine(line)
	if !ok {
		return
	}
	in, key, err := fullBatchLine(line)
	byName := func(a, b urlsig.Param) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(fin.params, byName)
	slices.SortFunc(in.params, byName)
	switch {
	case err != nil:
		t.Errorf("%s: fast reading took it, full reading refused it: %v", line, err)
	case fkey != key:
		t.Errorf("%s: key %q, full reading %q", line, fkey, key)
	case !slices.Equal(fin.params, in.params) || (fin.params == nil) != (in.params == nil):
		t.Errorf("%s: params %v, full reading %v", line, fin.params, in.params)
	case !slices.Equal(fin.widths, in.widths) || (fin.widths == nil) != (in.widths == nil):
		t.Errorf("%s: widths %v, full reading %v", line, fin.widths, in.widths)
	}
}
