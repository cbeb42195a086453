package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/imagefmt"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
	"github.com/imgproxy-team/imgproxy/internal/testtools"
)

// jxlFrom encodes an image file (PNG or JPEG, named by ext) with cjxl
// (libjxl's own encoder) and its extra arguments: what a photographer's
// export tool writes. A JPEG is recompressed losslessly, EXIF included.
func jxlFrom(t *testing.T, body []byte, ext string, args ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in."+ext), filepath.Join(dir, "out.jxl")
	os.WriteFile(in, body, 0o644)
	testtools.Run(t, testtools.Path(t, "cjxl", "libjxl-tools"), append(append([]string{in, out}, args...), "--quiet")...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// JPEG XL is served as every output format at the right size, and without
// parameters as JPEG (only Safari shows JPEG XL), from the directory
// origin and from S3: a bare codestream, a container, and a JPEG with
// EXIF orientation 6 recompressed (shown upright, as libjxl turns it).
// The sizes are read back by vipsheader.
func TestJXLSources(t *testing.T) {
	photo := testimages.Photo(120, 80)
	sources := map[string][]byte{
		"bare.jxl":      jxlFrom(t, testimages.PNG(photo), "png", "-d", "1"),
		"container.jxl": jxlFrom(t, testimages.PNG(photo), "png", "-d", "1", "--container=1"),
		"rotated.jxl":   jxlFrom(t, testimages.WithOrientation(testimages.JPEG(testimages.Photo(80, 120)), 6), "jpg"),
	}
	for from, dir := range map[string]bool{"dir": true, "s3": false} {
		t.Run(from, func(t *testing.T) {
			s := newStack(t, func(o *stackOptions) {
				if dir {
					o.dir = t.TempDir()
				}
			})
			var names []string
			var bodies [][]byte
			for key, body := range sources {
				s.put(key, body)
				for _, f := range params.OutputFormats() {
					r := s.get(s.sign(key, "fm", f.String(), "w", "60"))
					if r.status != 200 || imagefmt.Sniff(r.body).String() != containerName(f) {
						t.Fatalf("%s as %s: %d %q", key, f, r.status, r.body)
					}
					names, bodies = append(names, key+" as "+f.String()+" w=60"), append(bodies, r.body)
				}
				r := s.get(s.sign(key))
				if r.status != 200 || imagefmt.Sniff(r.body) != imagefmt.JPEG {
					t.Fatalf("%s without parameters: %d %q", key, r.status, r.body)
				}
				names, bodies = append(names, key+" without parameters"), append(bodies, r.body)
			}
			for i, size := range testtools.Sizes(t, testtools.WriteFiles(t, bodies...)...) {
				want := [2]int{60, 40}
				if strings.HasSuffix(names[i], "without parameters") {
					want = [2]int{120, 80}
				}
				if size != want {
					t.Errorf("%s: vipsheader reads %dx%d, want %dx%d", names[i], size[0], size[1], want[0], want[1])
				}
			}
		})
	}
}
