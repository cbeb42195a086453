package transform

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/imagefmt"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

func TestFitModes(t *testing.T) {
	tr := newTransformer(t)
	src := encodeJPEG(t, quadrants(400, 300))
	for _, c := range []struct {
		name string
		o    *params.Options
		w, h int
	}{
		{"w only", opts(func(o *params.Options) { o.Width = 200 }), 200, 150},
		{"h only", opts(func(o *params.Options) { o.Height = 150 }), 200, 150},
		{"dpr", opts(func(o *params.Options) { o.Width = 100; o.DPR = 150 }), 150, 113},
		{"cover", opts(func(o *params.Options) { o.Width, o.Height = 200, 200 }), 200, 200},
		{"contain", opts(func(o *params.Options) { o.Width, o.Height, o.Fit = 200, 200, params.FitContain }), 200, 200},
		{"fill", opts(func(o *params.Options) { o.Width, o.Height, o.Fit = 200, 100, params.FitFill }), 200, 100},
		{"inside", opts(func(o *params.Options) { o.Width, o.Height, o.Fit = 200, 200, params.FitInside }), 200, 150},
		{"outside", opts(func(o *params.Options) { o.Width, o.Height, o.Fit = 200, 200, params.FitOutside }), 267, 200},
		{"no enlarge", opts(func(o *params.Options) { o.Width = 800 }), 400, 300},
		{"no enlarge keeps box ratio", opts(func(o *params.Options) { o.Width, o.Height = 1600, 900 }), 400, 225},
		{"enlarge", opts(func(o *params.Options) { o.Width, o.Enlarge = 800, true }), 800, 600},
		{"smart", opts(func(o *params.Options) { o.Width, o.Height, o.Position = 100, 100, params.PositionSmart }), 100, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := run(t, tr, src, c.o, params.FormatJPEG)
			if d.width != c.w || d.height != c.h || d.format != imagefmt.JPEG {
				t.Errorf("got %v %dx%d, want jpeg %dx%d", d.format, d.width, d.height, c.w, c.h)
			}
		})
	}
}

func TestFormats(t *testing.T) {
	tr := newTransformer(t)
	jpg := encodeJPEG(t, quadrants(64, 48))
	png := encodePNG(t, quadrants(64, 48))
	for _, c := range []struct {
		src  []byte
		f    params.Format
		want imagefmt.Format
	}{
		{jpg, params.FormatJPEG, imagefmt.JPEG},
		{jpg, params.FormatPNG, imagefmt.PNG},
		{jpg, params.FormatWebP, imagefmt.WebP},
		{jpg, params.FormatAVIF, imagefmt.AVIF},
		{jpg, params.FormatGIF, imagefmt.GIF},
		{jpg, params.FormatDefault, imagefmt.JPEG},
		{png, params.FormatDefault, imagefmt.PNG},
	} {
		d := run(t, tr, c.src, opts(func(o *params.Options) { o.Width = 32 }), c.f)
		if d.format != c.want || d.width != 32 || d.height != 24 {
			t.Errorf("%v -> %v: got %v %dx%d", imagefmt.Sniff(c.src), c.f, d.format, d.width, d.height)
		}
	}
	// The default for a source that cannot be written is jpg, png with alpha.
	if defaultFormat(imagefmt.TIFF, false) != params.FormatJPEG || defaultFormat(imagefmt.TIFF, true) != params.FormatPNG {
		t.Error("default format for tiff")
	}
	// Every format also decodes back to what was drawn.
	for _, f := range []params.Format{params.FormatWebP, params.FormatAVIF} {
		out, err := tr.Transform(context.Background(), jpg, opts(func(o *params.Options) { o.Width = 32 }), f)
		if err != nil {
			t.Fatal(err)
		}
		back, err := tr.Transform(context.Background(), out.Body, opts(func(o *params.Options) { o.Width = 32 }), params.FormatPNG)
		if err != nil {
			t.Fatalf("%v output does not decode: %v", f, err)
		}
		img := decode(t, back.Body).img
		if !near(img.At(4, 4), red, 40) || !near(img.At(28, 20), white, 40) {
			t.Errorf("%v round trip: %v %v", f, img.At(4, 4), img.At(28, 20))
		}
	}
}

// AVIF is written by libheif directly (vips.c): alpha survives, a grey
// source is written as colour, and both decode back.
func TestAVIF(t *testing.T) {
	tr := newTransformer(t)
	roundTrip := func(src []byte, o *params.Options) image.Image {
		t.Helper()
		out, err := tr.Transform(context.Background(), src, o, params.FormatAVIF)
		if err != nil {
			t.Fatal(err)
		}
		if h, err := readHeader(out.Body); err != nil || h.width != out.Width || h.height != out.Height {
			t.Fatalf("avif header %+v (%v), reported %dx%d", h, err, out.Width, out.Height)
		}
		back, err := tr.Transform(context.Background(), out.Body, opts(nil), params.FormatPNG)
		if err != nil {
			t.Fatalf("avif does not decode: %v", err)
		}
		return decode(t, back.Body).img
	}
	// Transparent padding around red: alpha kept.
	o := opts(func(o *params.Options) { o.Width, o.Height, o.Fit = 64, 64, params.FitContain })
	img := roundTrip(encodePNG(t, quadrants(128, 64)), o)
	if !near(img.At(32, 4), color.NRGBA{}, 8) || !near(img.At(4, 20), red, 40) {
		t.Errorf("alpha: padding %v, image %v", img.At(32, 4), img.At(4, 20))
	}
	grey := image.NewGray(image.Rect(0, 0, 64, 48))
	for i := range grey.Pix {
		grey.Pix[i] = 200
	}
	img = roundTrip(encodeJPEG(t, grey), opts(func(o *params.Options) { o.Width = 32 }))
	if !near(img.At(10, 10), color.NRGBA{200, 200, 200, 255}, 8) {
		t.Errorf("grey: %v", img.At(10, 10))
	}
}

func TestQuality(t *testing.T) {
	tr := newTransformer(t)
	src := encodeJPEG(t, testimages.Noisy(256, 256))
	size := func(f params.Format, q int) int {
		out, err := tr.Transform(context.Background(), src, opts(func(o *params.Options) { o.Width = 200; o.Quality = q }), f)
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Body)
	}
	for _, f := range []params.Format{params.FormatJPEG, params.FormatWebP, params.FormatAVIF} {
		if lo, hi := size(f, 10), size(f, 95); lo >= hi {
			t.Errorf("%v: q=10 is %d bytes, q=95 %d", f, lo, hi)
		}
	}
}

// EXIF orientation is always applied, and rot comes after it.
func TestOrientationAndRotation(t *testing.T) {
	tr := newTransformer(t)
	plain := encodeJPEG(t, quadrants(400, 300))
	// Orientation 6: the stored image must be turned 90° clockwise to be
	// seen upright, so the viewer sees 300x400 with red at top-right.
	oriented := withOrientation(plain, 6)
	d := run(t, tr, oriented, opts(func(o *params.Options) { o.Width = 150 }), params.FormatPNG)
	if d.width != 150 || d.height != 200 {
		t.Fatalf("oriented: %dx%d, want 150x200", d.width, d.height)
	}
	if !near(d.img.At(140, 10), red, 30) || !near(d.img.At(10, 10), blue, 30) {
		t.Errorf("oriented corners: top-left %v top-right %v", d.img.At(10, 10), d.img.At(140, 10))
	}
	// rot=90 on top: another quarter turn clockwise; w and h describe the
	// final output.
	d = run(t, tr, oriented, opts(func(o *params.Options) { o.Width = 200; o.Rotate = 90 }), params.FormatPNG)
	if d.width != 200 || d.height != 150 || !near(d.img.At(190, 140), red, 30) {
		t.Errorf("rot 90 after orientation: %dx%d, bottom-right %v", d.width, d.height, d.img.At(190, 140))
	}
	// Metadata is stripped, orientation included: the pixels are upright.
	out, err := tr.Transform(context.Background(), oriented, opts(func(o *params.Options) { o.Width = 100 }), params.FormatJPEG)
	if err != nil || bytes.Contains(out.Body, []byte("Exif")) {
		t.Errorf("EXIF survived (%v)", err)
	}
}

func TestFlipAndPosition(t *testing.T) {
	tr := newTransformer(t)
	src := encodePNG(t, quadrants(400, 400))
	at := func(o *params.Options, x, y int) color.Color {
		return run(t, tr, src, o, params.FormatPNG).img.At(x, y)
	}
	if c := at(opts(func(o *params.Options) { o.Width = 100; o.FlipH = true }), 10, 10); !near(c, green, 10) {
		t.Errorf("flip h: top-left %v, want green", c)
	}
	if c := at(opts(func(o *params.Options) { o.Width = 100; o.FlipV = true }), 10, 10); !near(c, blue, 10) {
		t.Errorf("flip v: top-left %v, want blue", c)
	}
	if c := at(opts(func(o *params.Options) { o.Width = 100; o.FlipH, o.FlipV = true, true }), 10, 10); !near(c, white, 10) {
		t.Errorf("flip hv: top-left %v, want white", c)
	}
	// A 400x100 cover crop of the 400x400 source: top keeps red and green,
	// bottom keeps blue and white.
	top := opts(func(o *params.Options) { o.Width, o.Height, o.Position = 400, 100, params.PositionTop })
	if c := at(top, 10, 50); !near(c, red, 10) {
		t.Errorf("position top: %v", c)
	}
	bottom := opts(func(o *params.Options) { o.Width, o.Height, o.Position = 400, 100, params.PositionBottom })
	if c := at(bottom, 10, 50); !near(c, blue, 10) {
		t.Errorf("position bottom: %v", c)
	}
	right := opts(func(o *params.Options) { o.Width, o.Height, o.Position = 100, 400, params.PositionRight })
	if c := at(right, 50, 10); !near(c, green, 10) {
		t.Errorf("position right: %v", c)
	}
}

func TestBackgroundAndAlpha(t *testing.T) {
	tr := newTransformer(t)
	src := encodeJPEG(t, quadrants(400, 200))
	// contain pads with bg...
	o := opts(func(o *params.Options) {
		o.Width, o.Height, o.Fit, o.HasBg, o.Background = 200, 200, params.FitContain, true, params.Color{R: 255, A: 255}
	})
	if d := run(t, tr, src, o, params.FormatJPEG); !near(d.img.At(100, 5), red, 20) || !near(d.img.At(5, 60), red, 30) {
		t.Errorf("contain bg: %v", d.img.At(100, 5))
	}
	// ...white without bg for jpg, transparent for png.
	o = opts(func(o *params.Options) { o.Width, o.Height, o.Fit = 200, 200, params.FitContain })
	if d := run(t, tr, src, o, params.FormatJPEG); !near(d.img.At(100, 5), white, 10) {
		t.Errorf("contain jpg: %v", d.img.At(100, 5))
	}
	if d := run(t, tr, src, o, params.FormatPNG); !near(d.img.At(100, 5), color.NRGBA{}, 0) || !near(d.img.At(5, 60), red, 10) {
		t.Errorf("contain png: %v %v", d.img.At(100, 5), d.img.At(5, 60))
	}
	// Alpha flattened into jpg: onto bg, else white.
	clear := image.NewNRGBA(image.Rect(0, 0, 50, 50)) // fully transparent
	png := encodePNG(t, clear)
	if d := run(t, tr, png, opts(func(o *params.Options) { o.Width = 20 }), params.FormatJPEG); !near(d.img.At(10, 10), white, 5) {
		t.Errorf("flatten: %v", d.img.At(10, 10))
	}
	o = opts(func(o *params.Options) { o.Width, o.HasBg, o.Background = 20, true, params.Color{B: 255, A: 255} })
	if d := run(t, tr, png, o, params.FormatJPEG); !near(d.img.At(10, 10), blue, 10) {
		t.Errorf("flatten onto bg: %v", d.img.At(10, 10))
	}
}

func TestBlurAndSharpen(t *testing.T) {
	tr := newTransformer(t)
	// White on the left, black on the right: an edge at x=100.
	split := image.NewGray(image.Rect(0, 0, 200, 200))
	for i := range split.Pix {
		if i%200 < 100 {
			split.Pix[i] = 255
		}
	}
	src := encodePNG(t, split)
	// contrast across the edge at x=100.
	contrast := func(src []byte, o *params.Options) int {
		img := run(t, tr, src, o, params.FormatPNG).img
		r := func(x int) int { return int(color.NRGBAModel.Convert(img.At(x, 50)).(color.NRGBA).R) }
		return r(97) - r(102)
	}
	sharp := contrast(src, opts(func(o *params.Options) { o.Width = 200 }))
	blurred := contrast(src, opts(func(o *params.Options) { o.Width = 200; o.Blur = 3 }))
	if sharp < 250 || blurred > sharp-50 {
		t.Errorf("blur: edge contrast %d, unblurred %d", blurred, sharp)
	}
	// Sharpening a soft edge makes it steeper.
	soft, err := tr.Transform(context.Background(), src, opts(func(o *params.Options) { o.Width = 200; o.Blur = 3 }), params.FormatPNG)
	if err != nil {
		t.Fatal(err)
	}
	if s := contrast(soft.Body, opts(func(o *params.Options) { o.Width = 200; o.Sharpen = 3 })); s <= blurred {
		t.Errorf("sharpen: edge contrast %d, before %d", s, blurred)
	}
}

func TestBadInput(t *testing.T) {
	tr := newTransformer(t)
	jpg := encodeJPEG(t, quadrants(64, 64))
	o := opts(func(o *params.Options) { o.Width = 32 })
	for _, c := range []struct {
		name string
		src  []byte
		want error
	}{
		{"empty", nil, ErrUnsupported},
		{"html", []byte("<!doctype html><html><body>hi</body></html>"), ErrUnsupported},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>`), ErrUnsupported},
		{"truncated jpeg", jpg[:len(jpg)/2], ErrCorrupt},
		{"truncated jpeg tail", jpg[:len(jpg)-2], ErrCorrupt},
		{"pixel bomb", pngBomb(50000, 50000), ErrTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := tr.Transform(context.Background(), c.src, o, params.FormatJPEG)
			if !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
	if _, err := tr.Original(context.Background(), []byte("GIF89a")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated original: %v", err)
	}
	if out, err := tr.Original(context.Background(), jpg); err != nil || out.Format.ContentType() != "image/jpeg" {
		t.Errorf("original: %v %v", out.Format, err)
	}
}
