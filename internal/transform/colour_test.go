//go:build cgo

package transform

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	_ "image/gif" // decode gif outputs
	_ "image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
	"github.com/imgproxy-team/imgproxy/internal/testtools"
)

// vipsCLI runs the libvips command line (an independent reference) in dir.
func vipsCLI(t *testing.T, dir string, args ...string) {
	t.Helper()
	vips := testtools.Path(t, "vips", "libvips-tools")
	for i, a := range args {
		if a != "" && a[0] != '-' && filepath.Ext(a) != "" && !filepath.IsAbs(a) {
			args[i] = filepath.Join(dir, a)
		}
	}
	testtools.Run(t, vips, args...)
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// worstBlock is the largest mean absolute difference, over RGB, of any
// 16x16 block: a mean over the image hides a shift in saturated areas.
func worstBlock(a, b image.Image) float64 {
	worst := 0.0
	r := a.Bounds()
	for by := r.Min.Y; by < r.Max.Y; by += 16 {
		for bx := r.Min.X; bx < r.Max.X; bx += 16 {
			var sum, n float64
			for y := by; y < min(by+16, r.Max.Y); y++ {
				for x := bx; x < min(bx+16, r.Max.X); x++ {
					c1 := color.NRGBAModel.Convert(a.At(x, y)).(color.NRGBA)
					c2 := color.NRGBAModel.Convert(b.At(x, y)).(color.NRGBA)
					for _, d := range []int{int(c1.R) - int(c2.R), int(c1.G) - int(c2.G), int(c1.B) - int(c2.B)} {
						sum += float64(max(d, -d))
						n++
					}
				}
			}
			worst = max(worst, sum/n)
		}
	}
	return worst
}

// Sources in other colour spaces come out as sRGB that looks like the
// original, in every output format: a Display P3 JPEG with its profile, an
// Adobe RGB JPEG with Debian's icc-profiles-free profile, a CMYK JPEG
// without one, a 16-bit PNG, a grey PNG, all made from one sRGB photograph
// by libvips' own CLI, and JPEG XL made from the P3 JPEG and from the
// photograph by cjxl; libvips' plain resize of the photograph is the
// reference (for CMYK, whose gamut is smaller, its conversion of the CMYK
// file). WebP and AVIF outputs are decoded by the CLI, the others by Go.
// (Before, the P3 JPEG's worst block was off by 59/255.)
func TestColourToSRGB(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "photo.png"), testimages.PNG(testimages.Photo(128, 96)), 0o644)
	vipsCLI(t, dir, "icc_transform", "photo.png", "p3.v", "p3", "--input-profile", "srgb")
	vipsCLI(t, dir, "jpegsave", "p3.v", "p3.jpg", "--Q", "95")
	vipsCLI(t, dir, "colourspace", "photo.png", "cmyk.v", "cmyk")
	vipsCLI(t, dir, "jpegsave", "cmyk.v", "cmyk.jpg", "--Q", "95", "--strip")
	adobe := testtools.File(t, "/usr/share/color/icc/compatibleWithAdobeRGB1998.icc", "icc-profiles-free")
	vipsCLI(t, dir, "icc_transform", "photo.png", "adobe.v", adobe, "--input-profile", "srgb")
	vipsCLI(t, dir, "jpegsave", "adobe.v", "adobe.jpg", "--Q", "95")
	vipsCLI(t, dir, "colourspace", "photo.png", "deep.png", "rgb16")
	cjxl := testtools.Path(t, "cjxl", "libjxl-tools")
	testtools.Run(t, cjxl, filepath.Join(dir, "p3.jpg"), filepath.Join(dir, "p3.jxl"))                  // the JPEG, recompressed
	testtools.Run(t, cjxl, "-d", "0", filepath.Join(dir, "photo.png"), filepath.Join(dir, "photo.jxl")) // lossless
	vipsCLI(t, dir, "thumbnail", "photo.png", "ref.png", "64")
	// CMYK's gamut is smaller than sRGB's: its reference is libvips'
	// conversion of the CMYK file itself.
	vipsCLI(t, dir, "thumbnail", "cmyk.jpg", "ref-cmyk.png", "64", "--export-profile", "srgb")
	refs := map[string]image.Image{
		"cmyk.jpg": readPNG(t, filepath.Join(dir, "ref-cmyk.png")),
	}
	for _, src := range []string{"p3.jpg", "adobe.jpg", "deep.png", "p3.jxl", "photo.jxl"} {
		refs[src] = readPNG(t, filepath.Join(dir, "ref.png"))
	}

	tr := newTransformer(t)
	for _, src := range []string{"p3.jpg", "adobe.jpg", "cmyk.jpg", "deep.png", "p3.jxl", "photo.jxl"} {
		in, _ := os.ReadFile(filepath.Join(dir, src))
		for _, f := range params.OutputFormats() {
			out, err := tr.Transform(context.Background(), in, &params.Options{Width: 64, DPR: 100, Transform: true}, f)
			if err != nil {
				t.Fatalf("%s as %s: %v", src, f, err)
			}
			var got image.Image
			if img, _, err := image.Decode(bytes.NewReader(out.Body)); err == nil {
				got = img
			} else {
				name := "out-" + src + "." + f.String()
				os.WriteFile(filepath.Join(dir, name), out.Body, 0o644)
				vipsCLI(t, dir, "copy", name, name+".png")
				got = readPNG(t, filepath.Join(dir, name+".png"))
			}
			// gif has 256 colours; the lossy formats a few levels of noise.
			limit := 6.0
			if f == params.FormatGIF {
				limit = 16
			}
			if w := worstBlock(refs[src], got); w > limit {
				t.Errorf("%s as %s: worst 16x16 block off by %.1f/255 from the reference", src, f, w)
			}
		}
	}
	// Grey stays grey and right.
	grey := image.NewGray(image.Rect(0, 0, 64, 48))
	for i := range grey.Pix {
		grey.Pix[i] = uint8(i * 7)
	}
	out, err := tr.Transform(context.Background(), testimages.PNG(grey), &params.Options{Width: 64, DPR: 100, Transform: true}, params.FormatPNG)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := png.Decode(bytes.NewReader(out.Body))
	if w := worstBlock(grey, got); w > 1 {
		t.Errorf("grey: worst block off by %.1f", w)
	}
}

// With transform.allow_jxl off, a JPEG XL original is refused before
// libvips sees it, with a reason that names the setting.
func TestJXLTurnedOff(t *testing.T) {
	jxl, err := os.ReadFile("../imagefmt/testdata/real/photo.jxl")
	if err != nil {
		t.Fatal(err)
	}
	lim := testLimits
	lim.AllowJXL = false
	tr, err := New(Config{Workers: 1, Queue: 1, QueueTimeout: time.Second, Limits: lim, Encoding: testEncoding})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Transform(context.Background(), jxl, &params.Options{Width: 16, DPR: 100, Transform: true}, params.FormatJPEG)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "transform.allow_jxl") {
		t.Errorf("got %v, want ErrUnsupported naming transform.allow_jxl", err)
	}
	if out, err := newTransformer(t).Transform(context.Background(), jxl, &params.Options{Width: 16, DPR: 100, Transform: true}, params.FormatJPEG); err != nil || out.Width != 16 {
		t.Errorf("with it on: %+v, %v", out.Width, err)
	}
}
