package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/imagefmt"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
	"github.com/imgproxy-team/imgproxy/internal/testtools"
	"github.com/imgproxy-team/imgproxy/internal/transform"
)

// leakySources are originals of every readable format with a GPS position,
// a serial number, an artist, XMP, a comment and IPTC planted by exiftool,
// plus a JPEG whose EXIF orientation rotates it.
func leakySources(t *testing.T) map[string][]byte {
	t.Helper()
	tr, err := transform.New(transform.Config{Workers: 1, Queue: 1, QueueTimeout: time.Second,
		Limits:   transform.Limits{MaxSourcePixels: 1 << 20, MaxOutputDim: 1024, AllowJXL: true},
		Encoding: transform.Encoding{QualityJPEG: 90, QualityWebP: 90, QualityAVIF: 60, EffortWebP: 4, EffortAVIF: 2}})
	if err != nil {
		t.Fatal(err)
	}
	jpg := testimages.JPEG(testimages.Photo(96, 64))
	src := map[string][]byte{
		"leak.heic":        heicFrom(t, jpg),
		"leak.jxl":         jxlFrom(t, testimages.PNG(testimages.Photo(96, 64)), "png", "--container=1"),
		"leak.jpg":         jpg,
		"leak-rotated.jpg": testimages.WithOrientation(jpg, 6),
		"leak.tif":         testimages.TIFF(testimages.Photo(96, 64)),
		"leak-anim.gif":    testimages.QuadrantAnimation(96, 64, 0), // animated outputs too
	}
	for _, f := range []params.Format{params.FormatPNG, params.FormatWebP, params.FormatGIF, params.FormatAVIF} {
		out, err := tr.Transform(context.Background(), jpg, &params.Options{Transform: true}, f)
		if err != nil {
			t.Fatal(err)
		}
		if f == params.FormatWebP {
			// exiftool cannot add to the EXIF block libvips' WebP saver
			// makes up; start from an extended WebP without one.
			clean, _ := imagefmt.StripMetadata(out.Body, imagefmt.WebP)
			out.Body = testimages.WebPExtended(clean)
		}
		src["leak."+f.String()] = out.Body
	}
	return testtools.PlantAll(t, src)
}

// heicFrom encodes a JPEG as HEIC with libvips' CLI (libheif and x265):
// what a phone uploads.
func heicFrom(t *testing.T, jpg []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.jpg"), filepath.Join(dir, "out.heic")
	os.WriteFile(in, jpg, 0o644)
	testtools.Run(t, testtools.Path(t, "vips", "libvips-tools"), "heifsave", in, out, "--compression", "hevc", "--Q", "70")
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// No response carries the original's metadata: every source format, to
// every output format and without parameters, from both origins, on a miss
// and on a disk hit, read by exiftool and searched byte by byte.
func TestNoMetadataInAnyResponse(t *testing.T) {
	sources := leakySources(t)
	for _, from := range []string{"dir", "s3"} {
		t.Run(from, func(t *testing.T) {
			root := t.TempDir()
			s := newStack(t, func(o *stackOptions) {
				o.diskDir, o.memory = filepath.Join(root, "cache"), 0 // the second request is a disk hit
				if from == "dir" {
					o.dir = filepath.Join(root, "origin")
					os.Mkdir(o.dir, 0o755)
				}
			})
			var names []string
			var bodies [][]byte
			for key, body := range sources {
				s.put(key, body)
				urls := map[string]string{"no parameters": s.sign(key), "v only": s.sign(key, "v", "1")}
				for _, f := range params.OutputFormats() {
					urls[f.String()] = s.sign(key, "fm", f.String(), "w", "48")
				}
				for what, u := range urls {
					for _, tier := range []string{"miss", "disk"} {
						r := s.get(u)
						name := fmt.Sprintf("%s, %s, %s", key, what, tier)
						if r.status != 200 || r.header.Get("X-Cache") != tier {
							t.Fatalf("%s: %d, X-Cache %q: %s", name, r.status, r.header.Get("X-Cache"), r.body)
						}
						for _, p := range append(testtools.Planted, "48.8584") {
							if bytes.Contains(r.body, []byte(p)) {
								t.Errorf("%s: the response contains %q", name, p)
							}
						}
						names, bodies = append(names, name), append(bodies, r.body)
					}
				}
			}
			for i, tags := range testtools.Tags(t, testtools.WriteFiles(t, bodies...)...) {
				if leaks := testtools.Leaks(t, tags); len(leaks) > 0 {
					t.Errorf("%s: exiftool reads %v", names[i], leaks)
				}
			}
		})
	}
}

// Without parameters, an image whose EXIF orientation is not 1 comes out
// upright (re-encoded), and a clean JPEG comes out byte for byte.
func TestOriginalUpright(t *testing.T) {
	s := newStack(t, func(o *stackOptions) { o.dir = t.TempDir() })
	jpg := testimages.JPEG(testimages.Quadrants(96, 64))
	s.put("clean.jpg", jpg)
	s.put("rotated.jpg", testimages.WithOrientation(jpg, 6))
	if r := s.get(s.sign("clean.jpg")); !bytes.Equal(r.body, jpg) {
		t.Errorf("a clean original was changed (%d bytes, was %d)", len(r.body), len(jpg))
	}
	r := s.get(s.sign("rotated.jpg"))
	if f, w, h := measure(t, r); f != imagefmt.JPEG || w != 64 || h != 96 {
		t.Errorf("rotated original: %v %dx%d, want jpeg 64x96", f, w, h)
	}
}

// A disk tier filled before metadata was stripped (its entries filed
// under the version 1 cache key) is not served after the upgrade: the
// request is a miss and gets a clean image.
func TestOldCacheEntriesNotServed(t *testing.T) {
	root := t.TempDir()
	cacheDir, originDir := filepath.Join(root, "cache"), filepath.Join(root, "origin")
	leaky := testtools.Plant(t, testimages.JPEG(testimages.Photo(96, 64)), "jpg")

	os.Mkdir(originDir, 0o755)
	s := newStack(t, func(o *stackOptions) { o.dir = originDir })
	s.put("photo.jpg", leaky)
	u := s.sign("photo.jpg", "fm", "webp", "w", "48")
	toSign := u[:bytes.LastIndex([]byte(u), []byte("&s="))]
	// What version 1 stored: the leaky bytes under SHA-256(string to sign,
	// 0, format).
	h := sha256.New()
	h.Write([]byte(toSign))
	h.Write([]byte{0, byte(params.FormatWebP)})
	var oldKey params.Key
	h.Sum(oldKey[:0])
	disk, err := cache.OpenDisk(cache.DiskConfig{Dir: cacheDir, Size: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	disk.Put(oldKey, &cache.Entry{ContentType: "image/webp", Body: leaky, ObjectKey: "photo.jpg", Created: time.Now()})
	disk.Close() // the server below takes the directory's lock
	if files, _ := filepath.Glob(filepath.Join(cacheDir, "entries", "*", "*", "*")); len(files) != 1 {
		t.Fatalf("%d old entries written", len(files))
	}

	s = newStack(t, func(o *stackOptions) { o.dir, o.diskDir = originDir, cacheDir })
	r := s.get(u)
	if r.status != 200 || r.header.Get("X-Cache") != "miss" || bytes.Contains(r.body, []byte(testtools.Planted[0])) {
		t.Fatalf("after the upgrade: %d, X-Cache %q, leaky %v", r.status, r.header.Get("X-Cache"),
			bytes.Contains(r.body, []byte(testtools.Planted[0])))
	}
	if f, _, _ := measure(t, r); f != imagefmt.WebP {
		t.Errorf("served %v", f)
	}
}
