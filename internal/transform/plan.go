package transform

import (
	"fmt"

	geom "github.com/imgproxy-team/imgproxy/internal/geometry"
	"github.com/imgproxy-team/imgproxy/internal/params"
)

// cropKind says how the resized image is cut to the target box.
type cropKind int

const (
	cropNone  cropKind = iota
	cropArea           // a fixed rectangle (position center/top/right/bottom/left)
	cropSmart          // libvips' attention crop
)

// plan is every number libvips needs, computed in Go so that the geometry
// is plain code with plain tests. Coordinates after "rotate" are in the
// final orientation.
type plan struct {
	thumbW, thumbH int // resize target after EXIF orientation, before rotate
	jpegShrink     int // 1, 2, 4 or 8: JPEG decoded at this fraction of its size
	rotate         int
	flipH, flipV   bool

	crop                       cropKind
	cropX, cropY, cropW, cropH int

	embed                          bool
	embedX, embedY, embedW, embedH int

	bg      params.Color // padding, and what alpha is flattened onto
	flatten bool

	blur, sharpen float64

	format   params.Format
	quality  int
	effort   int
	toSRGB   bool
	animated bool // every frame transformed alike, and kept
}

// minSharpen is the smallest sigma libvips 8.14's sharpen has an effect at.
const minSharpen = 0.5

// source describes an original from its header.
type source struct {
	width, height int // after EXIF orientation
	hasAlpha      bool
	toSRGB        bool // an embedded profile or CMYK: convert to sRGB
	frames        int  // pages of an animation (GIF, WebP), else 1
	jpeg          bool // libjpeg can shrink it while decoding
}

// outWidth and outHeight are the dimensions of the output image.
func (p *plan) outSize() (int, int) {
	switch {
	case p.embed:
		return p.embedW, p.embedH
	case p.crop != cropNone:
		return p.cropW, p.cropH // smart: thumbnail's own crop, rotated
	case p.rotate == 90 || p.rotate == 270:
		return p.thumbH, p.thumbW
	}
	return p.thumbW, p.thumbH
}

// makePlan computes the plan for src and o, writing format f (resolved: not
// FormatDefault). lim bounds the output and the resized intermediate.
func makePlan(src source, o *params.Options, f params.Format, enc Encoding, lim Limits) (plan, error) {
	p := plan{rotate: o.Rotate, flipH: o.FlipH, flipV: o.FlipV, blur: o.Blur, sharpen: o.Sharpen, format: f, toSRGB: src.toSRGB,
		animated: src.frames > 1 && (f == params.FormatGIF || f == params.FormatWebP)}
	if p.sharpen > 0 {
		// libvips' sharpen changes nothing below this sigma; the contract
		// allows 0.3, and a URL that asks for sharpening gets some.
		p.sharpen = max(p.sharpen, minSharpen)
	}

	// Rotation happens before resizing: w and h describe the final output.
	sw, sh := src.width, src.height
	if o.Rotate == 90 || o.Rotate == 270 {
		sw, sh = sh, sw
	}
	g := fitBox(sw, sh, o.PixelWidth(), o.PixelHeight(), o.Fit, o.Enlarge)

	if g.outW > lim.MaxOutputDim || g.outH > lim.MaxOutputDim {
		return p, fmt.Errorf("%w: output would be %dx%d, more than %d", ErrTooLarge, g.outW, g.outH, lim.MaxOutputDim)
	}
	// An enlarged cover of an extreme aspect ratio can ask for a huge
	// intermediate image even when the output is small.
	if int64(g.resizeW)*int64(g.resizeH) > lim.MaxSourcePixels {
		return p, fmt.Errorf("%w: resized image would be %dx%d pixels", ErrTooLarge, g.resizeW, g.resizeH)
	}

	p.thumbW, p.thumbH = g.resizeW, g.resizeH
	if o.Rotate == 90 || o.Rotate == 270 {
		p.thumbW, p.thumbH = p.thumbH, p.thumbW
	}

	switch {
	case g.resizeW == g.outW && g.resizeH == g.outH:
		// Nothing to cut or pad.
	case o.Fit == params.FitContain:
		p.embed = true
		p.embedW, p.embedH = g.outW, g.outH
		p.embedX, p.embedY = (g.outW-g.resizeW)/2, (g.outH-g.resizeH)/2
	case o.Position == params.PositionSmart && !p.animated:
		// (An animation's frames are cropped alike, at the centre:
		// attention would pick a different part of each.)
		// thumbnail resizes to cover the box and crops by attention in one
		// go; a separate smartcrop after it would need random access to a
		// sequentially decoded image. Attention does not care which way up
		// the image is, so the box is given before rotation.
		p.crop, p.cropW, p.cropH = cropSmart, g.outW, g.outH
		p.thumbW, p.thumbH = g.outW, g.outH
		if o.Rotate == 90 || o.Rotate == 270 {
			p.thumbW, p.thumbH = p.thumbH, p.thumbW
		}
	default:
		p.crop, p.cropW, p.cropH = cropArea, g.outW, g.outH
		p.cropX, p.cropY = cropOffset(g.resizeW-g.outW, g.resizeH-g.outH, o.Position)
	}

	p.jpegShrink = 1
	if src.jpeg {
		p.jpegShrink = jpegShrink(src.width, src.height, p.thumbW, p.thumbH)
	}

	alphaFormat := f != params.FormatJPEG
	p.flatten = !alphaFormat
	switch {
	case o.HasBg:
		p.bg = o.Background
	case alphaFormat:
		p.bg = params.Color{} // transparent
	default:
		p.bg = params.Color{R: 255, G: 255, B: 255, A: 255}
	}

	p.quality = o.Quality
	if p.quality == 0 {
		p.quality = enc.quality(f)
	}
	p.effort = enc.effort(f)
	return p, nil
}

// jpegShrink is the largest factor libjpeg can shrink by while decoding
// (1, 2, 4 or 8) that leaves a sw x sh image no smaller than tw x th on
// either axis, so the resize after it only ever shrinks. thumbW and thumbH
// are also the box attention cropping covers, so this holds for it too.
func jpegShrink(sw, sh, tw, th int) int {
	for _, s := range []int{8, 4, 2} {
		if sw >= s*tw && sh >= s*th {
			return s
		}
	}
	return 1
}

// cropOffset places a crop that removes dx columns and dy rows.
func cropOffset(dx, dy int, pos params.Position) (x, y int) {
	x, y = dx/2, dy/2
	switch pos {
	case params.PositionTop:
		y = 0
	case params.PositionBottom:
		y = dy
	case params.PositionLeft:
		x = 0
	case params.PositionRight:
		x = dx
	}
	return x, y
}

// geometry is the size to resize to, and the size of the output.
type geometry struct {
	resizeW, resizeH int
	outW, outH       int
}

// fitBox is geometry.Fit, the rule sign --from-origin promises sizes by
// too: one rule in a pure-Go package, so the two cannot drift apart.
func fitBox(sw, sh, w, h int, fit params.Fit, enlarge bool) geometry {
	b := geom.Fit(sw, sh, w, h, fit, enlarge)
	return geometry{b.ResizeW, b.ResizeH, b.OutW, b.OutH}
}
