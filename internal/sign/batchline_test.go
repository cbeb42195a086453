package sign

import (
	"context"
	"strings"
	"testing"
)

// What a batch line may say: a number is taken as written, so only a
// canonical one signs; nothing is read into something the line did not say.
func TestBatchLineRules(t *testing.T) {
	s := newSigner(t, "")
	for _, c := range []struct {
		line, key, url, err string // url: a substring; err: a substring, "" for none
	}{
		{`{"key":"a.jpg","params":{"w":400}}`, "a.jpg", "?w=400&s=", ""},
		{`{"key":"a.jpg","params":{"w":"400"}}`, "a.jpg", "?w=400&s=", ""},
		{`{"key":"a.jpg","params":{"dpr":1.5,"w":4}}`, "a.jpg", "?dpr=1.5&w=4&s=", ""},
		{`{"key":"a.jpg","params":{"w":400.0}}`, "a.jpg", "", `"400.0"`},
		{`{"key":"a.jpg","params":{"w":4e2}}`, "a.jpg", "", `"4e2"`},
		{`{"key":"a.jpg","params":{"dpr":1.50}}`, "a.jpg", "", `"1.50"`},
		{`{"key":"a.jpg","params":{"w":-0}}`, "a.jpg", "", `"-0"`},
		{`{"key":"a.jpg","params":{"exp":99999999999999999}}`, "a.jpg", "exp=99999999999999999&", ""},
		{`{"key":"a.jpg","params":{"w":null}}`, "a.jpg", "", "want a string or a number"},
		{`{"key":"a.jpg","params":{"w":true}}`, "a.jpg", "", "want a string or a number"},
		{`{"key":"a.jpg","params":null,"widths":null}`, "a.jpg", "/a.jpg?s=", ""},
		{`{"key":"a.jpg","params":[1]}`, "a.jpg", "", `"params" must be an object`},
		{`{"key":"a.jpg","widths":[320.0]}`, "a.jpg", "", "widths: want positive whole numbers"},
		{`{"key":"a.jpg","widths":[3.2e2]}`, "a.jpg", "", "widths"},
		{`{"key":"a.jpg","widths":["320"]}`, "a.jpg", "", "widths"},
		{`{"key":"a.jpg","widths":[0320]}`, "", "", "bad JSON"},
		{`{"key":"a.jpg","widths":{}}`, "a.jpg", "", `"widths" must be an array`},
		{`{"KEY":"a.jpg"}`, "", "", `unknown field "KEY"`}, // not a case-insensitive match
		{`{"key":"b.jpg","key":"a.jpg"}`, "a.jpg", "/a.jpg?s=", ""},
		{`{"key":"a.jpg","params":{"w":null,"w":"5"}}`, "a.jpg", "?w=5&", ""}, // the last one counts
		{`{"key":null}`, "", "", `"key" must be a string`},
		{`{"key":"\ud800.jpg"}`, "\ufffd.jpg", "", "unpaired surrogate"},
		{`{"key":"\udc00"}`, "\ufffd", "", "unpaired surrogate"},
		{`{"key":"\ud83d\ude00.jpg"}`, "😀.jpg", "/%F0%9F%98%80.jpg?s=", ""},
		{`{"key":"\\ud800.jpg"}`, `\ud800.jpg`, "/%5Cud800.jpg?s=", ""}, // an escaped backslash, not an escape
		{`{"key":"/a.jpg"}`, "/a.jpg", "", "drop it (a.jpg)"},
		{"{\"key\":\"a\xff.jpg\"}", "", "", "not valid UTF-8"},
		{`null`, "", "", "want an object"},
		{`[1]`, "", "", "want an object"},
		{" \t\r", "", "", "blank line"},
		{``, "", "", "blank line"},
	} {
		o, _ := s.batchLine(context.Background(), []byte(c.line), BatchOptions{})
		switch {
		case o.Key != c.key:
			t.Errorf("%s: key %q, want %q", c.line, o.Key, c.key)
		case c.err == "" && (o.Error != "" || !strings.Contains(o.URL, c.url)):
			t.Errorf("%s: %+v, want a URL with %s", c.line, o, c.url)
		case c.err != "" && (o.URL != "" || !strings.Contains(o.Error, c.err)):
			t.Errorf("%s: %+v, want error %s", c.line, o, c.err)
		}
	}
}
