package transform

import (
	"image"
	"image/color"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// A white square on transparent black, blurred and flattened onto white
// as JPEG, has no dark halo: blur works on premultiplied alpha (before,
// the darkest pixel was 189). Sharpen too.
func TestFilterPremultiplied(t *testing.T) {
	tr := newTransformer(t)
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64)) // transparent black
	for y := 16; y < 48; y++ {
		for x := 16; x < 48; x++ {
			img.SetNRGBA(x, y, color.NRGBA{255, 255, 255, 255})
		}
	}
	src := encodePNG(t, img)
	for _, c := range []struct {
		name string
		set  func(o *params.Options)
	}{
		{"blur", func(o *params.Options) { o.Blur = 5 }},
		{"sharpen", func(o *params.Options) { o.Sharpen = 2 }},
	} {
		d := run(t, tr, src, opts(func(o *params.Options) { o.Width = 64; c.set(o) }), params.FormatJPEG)
		darkest := 255
		for y := 0; y < 64; y++ {
			for x := 0; x < 64; x++ {
				r, g, b, _ := d.img.At(x, y).RGBA()
				darkest = min(darkest, int(r>>8), int(g>>8), int(b>>8))
			}
		}
		if darkest < 245 {
			t.Errorf("%s: darkest pixel %d, want a white image (no halo)", c.name, darkest)
		}
	}
}

// Every allowed sigma has a visible effect: 0.3 to 0.5 did nothing.
func TestSmallSigmasChangeTheImage(t *testing.T) {
	tr := newTransformer(t)
	src := encodePNG(t, testimages.Noisy(64, 48))
	plain := run(t, tr, src, opts(func(o *params.Options) { o.Width = 64 }), params.FormatPNG)
	for _, sigma := range []float64{0.3, 0.35, 0.4, 0.45, 0.5} {
		for name, set := range map[string]func(o *params.Options){
			"blur":    func(o *params.Options) { o.Blur = sigma },
			"sharpen": func(o *params.Options) { o.Sharpen = sigma },
		} {
			d := run(t, tr, src, opts(func(o *params.Options) { o.Width = 64; set(o) }), params.FormatPNG)
			if meanAbsDiff(plain.img, d.img) < 0.2 {
				t.Errorf("%s=%v: the image is unchanged", name, sigma)
			}
		}
	}
}

func meanAbsDiff(a, b image.Image) float64 {
	var sum, n float64
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			for _, d := range []int{int(r1>>8) - int(r2>>8), int(g1>>8) - int(g2>>8), int(b1>>8) - int(b2>>8)} {
				sum += float64(max(d, -d))
				n++
			}
		}
	}
	return sum / n
}
