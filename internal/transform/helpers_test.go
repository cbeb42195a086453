package transform

import (
	"bytes"
	"context"
	"image"
	"image/color"
	_ "image/gif" // decode gif outputs
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/imagefmt"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

func newTransformer(t testing.TB) *Transformer {
	t.Helper()
	tr, err := New(Config{Workers: 2, Queue: 4, QueueTimeout: time.Second, Limits: testLimits, Encoding: testEncoding})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func quadrants(w, h int) *image.NRGBA                 { return testimages.Quadrants(w, h) }
func encodeJPEG(_ testing.TB, img image.Image) []byte { return testimages.JPEG(img) }
func encodePNG(_ testing.TB, img image.Image) []byte  { return testimages.PNG(img) }
func withOrientation(jpg []byte, o uint16) []byte     { return testimages.WithOrientation(jpg, o) }
func pngBomb(w, h uint32) []byte                      { return testimages.PNGBomb(w, h) }

// decoded is an output image, decoded by Go where Go can (jpg, png, gif)
// and measured by libvips' header otherwise.
type decoded struct {
	format        imagefmt.Format
	width, height int
	img           image.Image // nil for webp and avif
}

func decode(t testing.TB, b []byte) decoded {
	t.Helper()
	d := decoded{format: imagefmt.Sniff(b)}
	if err := imagefmt.Check(b, d.format); err != nil {
		t.Fatalf("output fails its own integrity check: %v", err)
	}
	if img, _, err := image.Decode(bytes.NewReader(b)); err == nil {
		d.img = img
		d.width, d.height = img.Bounds().Dx(), img.Bounds().Dy()
		return d
	}
	h, err := readHeader(b)
	if err != nil {
		t.Fatalf("output unreadable: %v", err)
	}
	d.width, d.height = h.width, h.height
	return d
}

// near reports whether c is within tol of want on every channel (8-bit).
func near(c color.Color, want color.NRGBA, tol int) bool {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	diff := func(a, b uint8) bool { d := int(a) - int(b); return d <= tol && d >= -tol }
	return diff(n.R, want.R) && diff(n.G, want.G) && diff(n.B, want.B) && diff(n.A, want.A)
}

func opts(mod func(*params.Options)) *params.Options {
	o := &params.Options{DPR: 100, Transform: true}
	if mod != nil {
		mod(o)
	}
	return o
}

func run(t *testing.T, tr *Transformer, src []byte, o *params.Options, f params.Format) decoded {
	t.Helper()
	out, err := tr.Transform(context.Background(), src, o, f)
	if err != nil {
		t.Fatalf("transform: %v", err)
	}
	d := decode(t, out.Body)
	if d.width != out.Width || d.height != out.Height {
		t.Errorf("reported %dx%d, image is %dx%d", out.Width, out.Height, d.width, d.height)
	}
	return d
}

var (
	red   = testimages.Red
	green = testimages.Green
	blue  = testimages.Blue
	white = testimages.White
)
