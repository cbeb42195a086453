package transform

import (
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/params"
)

func TestFitBox(t *testing.T) {
	type g = geometry
	for _, c := range []struct {
		name         string
		sw, sh, w, h int
		fit          params.Fit
		enlarge      bool
		want         geometry
	}{
		{"no box", 400, 300, 0, 0, params.FitCover, false, g{400, 300, 400, 300}},
		{"width only", 400, 300, 200, 0, params.FitCover, false, g{200, 150, 200, 150}},
		{"height only", 400, 300, 0, 150, params.FitCover, false, g{200, 150, 200, 150}},
		{"width only, no enlarge", 400, 300, 800, 0, params.FitCover, false, g{400, 300, 400, 300}},
		{"width only, enlarge", 400, 300, 800, 0, params.FitCover, true, g{800, 600, 800, 600}},
		{"width rounds", 3, 2, 2, 0, params.FitCover, false, g{2, 1, 2, 1}}, // 1.33 rounds to 1
		{"tiny side stays 1", 1000, 1, 10, 0, params.FitCover, false, g{10, 1, 10, 1}},

		{"cover crops", 400, 300, 200, 200, params.FitCover, false, g{267, 200, 200, 200}},
		{"contain pads", 400, 300, 200, 200, params.FitContain, false, g{200, 150, 200, 200}},
		{"fill stretches", 400, 300, 200, 200, params.FitFill, false, g{200, 200, 200, 200}},
		{"inside", 400, 300, 200, 200, params.FitInside, false, g{200, 150, 200, 150}},
		{"outside", 400, 300, 200, 200, params.FitOutside, false, g{267, 200, 267, 200}},

		// Without enlarge a box larger than the source shrinks, keeping its
		// aspect ratio, until it fits: a 16:9 cover stays 16:9.
		{"cover box shrinks to source", 400, 300, 1600, 900, params.FitCover, false, g{400, 300, 400, 225}},
		{"contain box shrinks", 400, 300, 1600, 900, params.FitContain, false, g{300, 225, 400, 225}},
		{"fill box shrinks", 400, 300, 1600, 900, params.FitFill, false, g{400, 225, 400, 225}},
		{"one side over", 400, 300, 500, 100, params.FitCover, false, g{400, 300, 400, 80}},
		{"enlarge keeps box", 400, 300, 1600, 900, params.FitCover, true, g{1600, 1200, 1600, 900}},
		{"outside enlarge", 400, 300, 1600, 900, params.FitOutside, true, g{1600, 1200, 1600, 1200}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := fitBox(c.sw, c.sh, c.w, c.h, c.fit, c.enlarge); got != c.want {
				t.Errorf("fitBox(%dx%d into %dx%d, %v, enlarge=%v) = %+v, want %+v",
					c.sw, c.sh, c.w, c.h, c.fit, c.enlarge, got, c.want)
			}
		})
	}
}

var testLimits = Limits{MaxSourcePixels: 50_000_000, MaxOutputDim: 8192, AllowJXL: true}
var testEncoding = Encoding{QualityJPEG: 80, QualityWebP: 81, QualityAVIF: 60, EffortWebP: 4, EffortAVIF: 2}

func TestMakePlan(t *testing.T) {
	src := source{width: 400, height: 300}
	mk := func(o params.Options, f params.Format) plan {
		t.Helper()
		if o.DPR == 0 {
			o.DPR = 100
		}
		p, err := makePlan(src, &o, f, testEncoding, testLimits)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Cover crop positions on both axes.
	for pos, want := range map[params.Position][2]int{
		params.PositionCenter: {33, 0}, params.PositionLeft: {0, 0}, params.PositionRight: {67, 0},
		params.PositionTop: {33, 0}, params.PositionBottom: {33, 0},
	} {
		p := mk(params.Options{Width: 200, Height: 200, Position: pos}, params.FormatJPEG)
		if p.crop != cropArea || p.cropX != want[0] || p.cropY != want[1] || p.cropW != 200 {
			t.Errorf("%v: crop %v at %d,%d", pos, p.crop, p.cropX, p.cropY)
		}
	}
	p := mk(params.Options{Width: 400, Height: 100, Position: params.PositionBottom}, params.FormatJPEG)
	if p.cropX != 0 || p.cropY != 200 {
		t.Errorf("bottom crop at %d,%d", p.cropX, p.cropY)
	}
	// smart: libvips' thumbnail crops by attention itself, to the box.
	if p := mk(params.Options{Width: 200, Height: 100, Position: params.PositionSmart, Rotate: 90}, params.FormatJPEG); p.crop != cropSmart || p.thumbW != 100 || p.thumbH != 200 {
		t.Errorf("smart: %+v", p)
	}

	// dpr multiplies the box; rot swaps the resize target, not the output.
	p = mk(params.Options{Width: 100, DPR: 200, Rotate: 90}, params.FormatJPEG)
	// The source seen after rot is 300x400: 200 wide is 200x267, resized
	// as 267x200 before the quarter turn.
	if p.thumbW != 267 || p.thumbH != 200 {
		t.Errorf("rot 90 w=100 dpr=2: thumb %dx%d", p.thumbW, p.thumbH)
	}
	if w, h := p.outSize(); w != 200 || h != 267 {
		t.Errorf("rot 90 out %dx%d", w, h)
	}

	// contain pads with bg, else transparent where the format has alpha,
	// else white; jpg flattens alpha.
	p = mk(params.Options{Width: 200, Height: 200, Fit: params.FitContain}, params.FormatPNG)
	if !p.embed || p.embedY != 25 || p.bg != (params.Color{}) || p.flatten {
		t.Errorf("png contain: %+v", p)
	}
	p = mk(params.Options{Width: 200, Height: 200, Fit: params.FitContain}, params.FormatJPEG)
	if p.bg != (params.Color{R: 255, G: 255, B: 255, A: 255}) || !p.flatten {
		t.Errorf("jpg contain: %+v", p)
	}
	red := params.Color{R: 255, A: 255}
	if p := mk(params.Options{Width: 200, Height: 200, Fit: params.FitContain, HasBg: true, Background: red}, params.FormatWebP); p.bg != red {
		t.Errorf("bg: %+v", p.bg)
	}

	// Quality: the URL's, else the format's default; effort per format.
	if p := mk(params.Options{}, params.FormatWebP); p.quality != 81 || p.effort != 4 {
		t.Errorf("webp defaults: q %d effort %d", p.quality, p.effort)
	}
	if p := mk(params.Options{Quality: 30}, params.FormatAVIF); p.quality != 30 || p.effort != 2 {
		t.Errorf("avif: q %d effort %d", p.quality, p.effort)
	}
}

func TestPlanLimits(t *testing.T) {
	// A 1x1000 strip enlarged to cover 8000x8000 would need an 8000x8000000
	// intermediate image.
	o := params.Options{Width: 8000, Height: 8000, Enlarge: true, DPR: 100}
	if _, err := makePlan(source{width: 1, height: 1000}, &o, params.FormatJPEG, testEncoding, testLimits); err == nil {
		t.Error("huge intermediate accepted")
	}
	// outside with enlarge can exceed max_output_dim although w and h do not.
	o = params.Options{Width: 8000, Height: 10, Fit: params.FitOutside, Enlarge: true, DPR: 100}
	if _, err := makePlan(source{width: 100, height: 100}, &o, params.FormatJPEG, testEncoding, testLimits); err == nil {
		t.Error("output over max_output_dim accepted")
	}
}

func TestJPEGShrink(t *testing.T) {
	for _, c := range []struct{ sw, sh, tw, th, want int }{
		{2048, 1536, 400, 300, 4}, // W1: libvips' thumbnail would decode at 1/2
		{4000, 3000, 800, 600, 4},
		{2048, 1536, 256, 192, 8},
		{2048, 1536, 255, 191, 8},
		{2048, 1536, 257, 193, 4},
		{2048, 1536, 1024, 768, 2},
		{2048, 1536, 1025, 769, 1},
		{2048, 1536, 2048, 1536, 1},
		{2048, 1536, 100, 1536, 1}, // fill: one axis not shrunk at all
		{100, 100, 1, 1, 8},
	} {
		if got := jpegShrink(c.sw, c.sh, c.tw, c.th); got != c.want {
			t.Errorf("%dx%d to %dx%d: shrink %d, want %d", c.sw, c.sh, c.tw, c.th, got, c.want)
		}
	}

	// Only JPEG sources shrink while decoding, and the target is the one
	// after EXIF orientation, like the source's size.
	o := params.Options{Width: 100, DPR: 100}
	for _, c := range []struct {
		src  source
		want int
	}{
		{source{width: 800, height: 600, jpeg: true}, 8},
		{source{width: 800, height: 600}, 1},
		{source{width: 300, height: 400, jpeg: true}, 2}, // 100x133
	} {
		p, err := makePlan(c.src, &o, params.FormatWebP, testEncoding, testLimits)
		if err != nil || p.jpegShrink != c.want {
			t.Errorf("%+v: shrink %d (%v), want %d", c.src, p.jpegShrink, err, c.want)
		}
	}
}
