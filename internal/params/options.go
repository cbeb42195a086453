// Package params turns the parameters of a verified URL into typed transform
// options, with every value checked against the contract (the README's "URL
// contract" section), and derives the cache key and negotiated output format.
package params

import "fmt"

// Fit is how the image is fitted into the w×h box (sharp's semantics).
type Fit uint8

const (
	FitCover   Fit = iota // crop to fill the box
	FitContain            // letterbox inside the box with the background
	FitFill               // stretch to the box
	FitInside             // keep the aspect ratio, within the box
	FitOutside            // keep the aspect ratio, covering the box
)

var fitNames = [...]string{"cover", "contain", "fill", "inside", "outside"}

func (f Fit) String() string { return fitNames[f] }

// Position is the part of the image a cover crop keeps.
type Position uint8

const (
	PositionCenter Position = iota
	PositionTop
	PositionRight
	PositionBottom
	PositionLeft
	PositionSmart // libvips' attention crop
)

var positionNames = [...]string{"center", "top", "right", "bottom", "left", "smart"}

func (p Position) String() string { return positionNames[p] }

// Format is an output image format.
type Format uint8

const (
	// FormatDefault means "decided by the source": its own format when it
	// can be written, else jpg (png when it has alpha).
	FormatDefault Format = iota
	FormatJPEG
	FormatPNG
	FormatWebP
	FormatAVIF
	FormatGIF
)

var formatNames = [...]string{"", "jpg", "png", "webp", "avif", "gif"}
var formatTypes = [...]string{"", "image/jpeg", "image/png", "image/webp", "image/avif", "image/gif"}

// String returns the value of fm that names f ("" for FormatDefault).
func (f Format) String() string { return formatNames[f] }

// ContentType returns the MIME type of f ("" for FormatDefault).
func (f Format) ContentType() string { return formatTypes[f] }

// ParseFormat returns the format an fm value names.
func ParseFormat(s string) (Format, bool) {
	for i, n := range formatNames {
		if i > 0 && n == s {
			return Format(i), true
		}
	}
	return FormatDefault, false
}

// Color is an sRGB colour with alpha.
type Color struct{ R, G, B, A uint8 }

// Options are the transform options of one URL, with defaults applied.
type Options struct {
	// Width and Height are the target box in CSS pixels; 0 when not given.
	Width, Height int
	// DPR is the device pixel ratio in hundredths (150 is 1.5); 100 by default.
	DPR        int
	Fit        Fit
	Position   Position
	Enlarge    bool
	Format     Format // fm; FormatDefault when not given
	AutoFormat bool   // auto=format
	Quality    int    // 1..100; 0 means the per-format default
	Blur       float64
	Sharpen    float64
	Rotate     int // 0, 90, 180 or 270
	FlipH      bool
	FlipV      bool
	Background Color
	HasBg      bool   // bg was given
	Version    string // v
	Expires    int64  // exp in unix seconds; 0 when not given
	// Transform is false when the URL asks for the original bytes: no
	// parameter other than v and exp.
	Transform bool
}

// PixelWidth returns the output width in device pixels (Width·DPR, rounded
// half up), or 0 when no width was given.
func (o *Options) PixelWidth() int { return scale(o.Width, o.DPR) }

// PixelHeight returns the output height in device pixels, or 0.
func (o *Options) PixelHeight() int { return scale(o.Height, o.DPR) }

func scale(n, dpr int) int { return (n*dpr + 50) / 100 }

func (c Color) String() string {
	return fmt.Sprintf("%02x%02x%02x%02x", c.R, c.G, c.B, c.A)
}

// OutputFormats lists every format fm can name: a test that ranges over
// it covers a new format the day it is added.
func OutputFormats() []Format {
	fs := make([]Format, 0, len(formatNames)-1)
	for f := FormatJPEG; int(f) < len(formatNames); f++ {
		fs = append(fs, f)
	}
	return fs
}
