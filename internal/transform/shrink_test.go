package transform

import (
	"bytes"
	"context"
	"image"
	"math"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// Shrinking a JPEG while decoding by the largest factor that keeps the
// target size must look like libvips' own thumbnail, which keeps a factor
// of two for its resize: the same size, and a PSNR between the two far
// above what an eye can tell apart.
func TestJPEGShrinkMatchesThumbnail(t *testing.T) {
	startLibvips()
	photo := testimages.JPEG(testimages.Photo(1600, 1200))
	for _, c := range []struct {
		name   string
		src    []byte
		mod    func(*params.Options)
		shrink int
	}{
		{"w=200", photo, func(o *params.Options) { o.Width = 200 }, 8},
		{"w=400", photo, func(o *params.Options) { o.Width = 400 }, 4},
		{"w=700", photo, func(o *params.Options) { o.Width = 700 }, 2},
		{"w=1000", photo, func(o *params.Options) { o.Width = 1000 }, 1},
		{"cover", photo, func(o *params.Options) { o.Width, o.Height = 300, 300 }, 4},
		{"smart", photo, func(o *params.Options) { o.Width, o.Height, o.Position = 150, 300, params.PositionSmart }, 4},
		{"contain rot", photo, func(o *params.Options) { o.Width, o.Height, o.Fit, o.Rotate = 200, 200, params.FitContain, 90 }, 8},
		{"orientation 6", testimages.WithOrientation(photo, 6), func(o *params.Options) { o.Width = 290 }, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := jpegPlan(t, c.src, c.mod)
			if p.jpegShrink != c.shrink {
				t.Fatalf("shrink %d, want %d", p.jpegShrink, c.shrink)
			}
			fast, err := render(context.Background(), c.src, &p)
			if err != nil {
				t.Fatal(err)
			}
			p.jpegShrink = 1
			ref, err := render(context.Background(), c.src, &p)
			if err != nil {
				t.Fatal(err)
			}
			db := psnr(t, decodeImage(t, fast), decodeImage(t, ref))
			t.Logf("%.1f dB", db)
			if db < 35 {
				t.Errorf("PSNR against libvips' thumbnail %.1f dB, want at least 35", db)
			}
		})
	}
}

// jpegPlan is the plan Transform would make for the JPEG src, to PNG.
func jpegPlan(t *testing.T, src []byte, mod func(*params.Options)) plan {
	t.Helper()
	h, err := readHeader(src)
	if err != nil {
		t.Fatal(err)
	}
	h.jpeg = true
	p, err := makePlan(h, opts(mod), params.FormatPNG, testEncoding, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func decodeImage(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// psnr compares two images of the same size over R, G, B and A (8-bit).
func psnr(t *testing.T, a, b image.Image) float64 {
	t.Helper()
	if a.Bounds() != b.Bounds() {
		t.Fatalf("sizes differ: %v and %v", a.Bounds(), b.Bounds())
	}
	var sum float64
	n := 0
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			for _, d := range []float64{
				float64(r1>>8) - float64(r2>>8), float64(g1>>8) - float64(g2>>8),
				float64(b1>>8) - float64(b2>>8), float64(a1>>8) - float64(a2>>8),
			} {
				sum += d * d
				n++
			}
		}
	}
	if sum == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(sum/float64(n)))
}

// libvips refuses a truncated JPEG on both paths (the option string reaches
// the loader), behind the pure-Go check that normally catches it first.
func TestJPEGShrinkTruncated(t *testing.T) {
	startLibvips()
	src := testimages.JPEG(testimages.Photo(1600, 1200))
	p := jpegPlan(t, src, func(o *params.Options) { o.Width = 200 })
	cut := src[:len(src)*2/3]
	for _, s := range []int{8, 1} {
		p.jpegShrink = s
		if _, err := render(context.Background(), cut, &p); err == nil {
			t.Errorf("shrink %d: a truncated JPEG was rendered", s)
		}
	}
}
