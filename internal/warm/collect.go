// Package warm requests every image URL of a built site once, so that the
// first visitor never waits for a transform: it collects the URLs a site
// links to (from its HTML, a list of URLs, or the JSON lines of sign
// --batch) and fetches them with a bounded number in flight.
package warm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// Collected is what the inputs hold: the URLs to warm, in the order first
// seen and without repeats, what was left out and why, and the inputs that
// could not be read.
type Collected struct {
	URLs     []string
	Foreign  int // URLs that do not start with the base URL: never fetched
	Unsigned int // URLs of the base without a signature
	Problems []error

	seen map[string]bool
}

// Collector gathers URLs under one base URL.
type Collector struct {
	Base  string    // "https://img.example.com" (a path prefix included, if any)
	Stdin io.Reader // for the input "-"
}

// Collect reads every input: "-" (standard input), a directory (every
// .html and .htm file under it), an HTML file, or a file of URLs (one per
// line) or of sign --batch output (JSON lines).
func (c Collector) Collect(inputs []string) *Collected {
	out := &Collected{seen: map[string]bool{}}
	base := strings.TrimSuffix(c.Base, "/") + "/"
	for _, in := range inputs {
		switch info, err := os.Stat(in); {
		case in == "-":
			b, err := io.ReadAll(c.Stdin)
			if err != nil {
				out.Problems = append(out.Problems, fmt.Errorf("standard input: %w", err))
				continue
			}
			c.list(out, base, "standard input", b)
		case err != nil:
			out.Problems = append(out.Problems, err)
		case info.IsDir():
			err := filepath.WalkDir(in, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					out.Problems = append(out.Problems, err)
					return nil
				}
				if !d.IsDir() && isHTML(path) {
					c.file(out, base, path)
				}
				return nil
			})
			if err != nil {
				out.Problems = append(out.Problems, err)
			}
		default:
			c.file(out, base, in)
		}
	}
	return out
}

func isHTML(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".html" || ext == ".htm"
}

func (c Collector) file(out *Collected, base, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		out.Problems = append(out.Problems, err)
		return
	}
	if isHTML(path) {
		c.html(out, base, path, b)
		return
	}
	c.list(out, base, path, b)
}

// html takes the URLs of every img src and srcset and every source srcset.
func (c Collector) html(out *Collected, base, path string, b []byte) {
	if !utf8.Valid(b) {
		// The tokenizer would turn invalid bytes into U+FFFD, and a URL
		// with one in it is not the URL the page links to.
		out.Problems = append(out.Problems, fmt.Errorf("%s: not UTF-8; re-save it as UTF-8", path))
		return
	}
	z := html.NewTokenizer(bytes.NewReader(b))
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				out.Problems = append(out.Problems, fmt.Errorf("%s: %w", path, z.Err()))
			}
			return
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			if tag != "img" && tag != "source" {
				continue
			}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				switch string(k) {
				case "src":
					if tag == "img" {
						out.add(base, string(v))
					}
				case "srcset":
					for _, u := range srcsetURLs(string(v)) {
						out.add(base, u)
					}
				}
			}
		}
	}
}

// srcsetURLs returns the URLs of a srcset value: comma-separated
// candidates, each a URL and an optional descriptor. Signed URLs escape
// every comma, so a comma always separates candidates.
func srcsetURLs(s string) []string {
	var urls []string
	for _, cand := range strings.Split(s, ",") {
		if f := strings.Fields(cand); len(f) > 0 {
			urls = append(urls, f[0])
		}
	}
	return urls
}

// list reads URLs one per line, or sign --batch output when the first
// line that is not blank starts with "{".
func (c Collector) list(out *Collected, base, name string, b []byte) {
	jsonl := bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{"))
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !jsonl {
			out.add(base, line)
			continue
		}
		var l struct{ URL, Srcset, Error string }
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			out.Problems = append(out.Problems, fmt.Errorf("%s, line %d: not a JSON object: %v", name, n, err))
			continue
		}
		if l.Error != "" {
			out.Problems = append(out.Problems, fmt.Errorf("%s, line %d: sign failed here: %s", name, n, l.Error))
		}
		if l.URL != "" {
			out.add(base, l.URL)
		}
		for _, u := range srcsetURLs(l.Srcset) {
			out.add(base, u)
		}
	}
	if err := sc.Err(); err != nil {
		out.Problems = append(out.Problems, fmt.Errorf("%s: %w", name, err))
	}
}

// add keeps u when it is a signed URL under base; it counts the others.
func (out *Collected) add(base, u string) {
	switch {
	case out.seen[u]:
		return
	case !strings.HasPrefix(u, base):
		out.Foreign++
	case !signed(u):
		out.Unsigned++
	default:
		out.URLs = append(out.URLs, u)
	}
	out.seen[u] = true
}

// signed reports whether u's query ends in a signature, as every URL of
// the contract does.
func signed(u string) bool {
	_, q, ok := strings.Cut(u, "?")
	return ok && (strings.HasPrefix(q, "s=") || strings.Contains(q, "&s="))
}
