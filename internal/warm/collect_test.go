package warm

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const base = "https://img.example.com"

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Every kind of input gives the signed URLs under the base, once each, and
// counts what it leaves out.
func TestCollect(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site")
	write(t, site, "index.html", `<!doctype html><title>x</title>
<picture>
  <source type="image/avif" srcset="https://img.example.com/a.jpg?fm=avif&amp;w=320&amp;s=A1 320w, https://img.example.com/a.jpg?fm=avif&amp;w=640&amp;s=A2 640w">
  <img src="https://img.example.com/a.jpg?w=640&amp;s=J" srcset="https://img.example.com/a.jpg?w=320&amp;s=J1 1x,https://img.example.com/a.jpg?w=640&amp;s=J 2x" alt="">
</picture>
<img src="/logo.png"><img src="https://cdn.other.com/x.jpg?s=zz"><img src="https://img.example.com/unsigned.jpg?w=1">`)
	write(t, site, "blog/post.htm", `<img src="https://img.example.com/a.jpg?w=640&s=J"><img src=https://img.example.com/b.png?s=B>`)
	write(t, site, "style.css", `body { background: url(https://img.example.com/c.jpg?s=C) }`)
	list := write(t, dir, "urls.txt", "# warm these\nhttps://img.example.com/d.jpg?s=D\n\nhttps://evil.example/x?s=1\n")
	jsonl := write(t, dir, "batch.jsonl", `{"key":"e.jpg","url":"https://img.example.com/e.jpg?w=1&s=E"}
{"key":"f.jpg","url":"https://img.example.com/f.jpg?s=F","srcset":"https://img.example.com/f.jpg?w=1&s=F1 1w, https://img.example.com/f.jpg?w=2&s=F2 2w"}
{"key":"g.jpg","error":"line 3: invalid parameter w"}
`)
	got := Collector{Base: base, Stdin: strings.NewReader("https://img.example.com/h.jpg?s=H\n")}.Collect([]string{site, list, jsonl, "-"})
	// In the order first seen; the walk goes in lexical order (blog/ first).
	want := []string{
		"https://img.example.com/a.jpg?w=640&s=J", "https://img.example.com/b.png?s=B",
		"https://img.example.com/a.jpg?fm=avif&w=320&s=A1", "https://img.example.com/a.jpg?fm=avif&w=640&s=A2",
		"https://img.example.com/a.jpg?w=320&s=J1",
		"https://img.example.com/d.jpg?s=D",
		"https://img.example.com/e.jpg?w=1&s=E", "https://img.example.com/f.jpg?s=F",
		"https://img.example.com/f.jpg?w=1&s=F1", "https://img.example.com/f.jpg?w=2&s=F2",
		"https://img.example.com/h.jpg?s=H",
	}
	if !reflect.DeepEqual(got.URLs, want) {
		t.Errorf("URLs:\n%s\nwant:\n%s", strings.Join(got.URLs, "\n"), strings.Join(want, "\n"))
	}
	if got.Foreign != 3 || got.Unsigned != 1 {
		t.Errorf("foreign %d, unsigned %d; want 3 and 1", got.Foreign, got.Unsigned)
	}
	if len(got.Problems) != 1 || !strings.Contains(got.Problems[0].Error(), "batch.jsonl, line 3") {
		t.Errorf("problems: %v", got.Problems)
	}
}

// Bad inputs are named precisely and lose nothing else.
func TestCollectProblems(t *testing.T) {
	dir := t.TempDir()
	latin1 := write(t, dir, "old.html", "<img src=\"https://img.example.com/caf\xe9.jpg?s=X\">")
	broken := write(t, dir, "broken.jsonl", "{\"url\": \"https://img.example.com/a.jpg?s=A\"}\n{not json\n")
	got := Collector{Base: base}.Collect([]string{latin1, broken, filepath.Join(dir, "missing")})
	var msgs []string
	for _, p := range got.Problems {
		msgs = append(msgs, p.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"old.html: not UTF-8", "broken.jsonl, line 2: not a JSON object", "missing: no such file"} {
		if !strings.Contains(all, want) {
			t.Errorf("no problem %q in:\n%s", want, all)
		}
	}
	if len(got.URLs) != 1 {
		t.Errorf("URLs: %v", got.URLs)
	}
}
