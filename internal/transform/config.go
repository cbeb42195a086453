package transform

import (
	"time"

	"github.com/imgproxy-team/imgproxy/internal/params"
)

// Limits bound what a transform may read and write.
type Limits struct {
	MaxSourcePixels int64
	MaxOutputDim    int
	// MaxSourceFrames bounds the frames of an animated source (GIF, WebP):
	// a decoder walks them all, even for a still of the first. 0: 1000.
	MaxSourceFrames int
	// MaxAnimationPixels bounds the pixels of all frames together, when an
	// animation is kept animated (every frame decoded and resized).
	// 0: 100 megapixels.
	MaxAnimationPixels int64
	// AllowJXL lets JPEG XL originals be read, through the libjxl loader
	// libvips 8.14 marks untrusted.
	AllowJXL bool
	// AllowSVG lets SVG originals be rasterised (never served as SVG: it
	// can carry scripts). Off by default.
	AllowSVG bool
}

// Encoding holds the per-format encoder settings used when a URL does not
// set them.
type Encoding struct {
	QualityJPEG, QualityWebP, QualityAVIF int // 1..100
	EffortWebP                            int // 0..6, libvips' default 4
	EffortAVIF                            int // 0..9; libvips' default 4 is ~5x slower than 2 for about the same size
}

func (e Encoding) quality(f params.Format) int {
	switch f {
	case params.FormatWebP:
		return e.QualityWebP
	case params.FormatAVIF:
		return e.QualityAVIF
	}
	return e.QualityJPEG
}

func (e Encoding) effort(f params.Format) int {
	if f == params.FormatAVIF {
		return e.EffortAVIF
	}
	return e.EffortWebP
}

// Config configures a Transformer.
type Config struct {
	Workers int // concurrent transforms
	Queue   int // transforms that may wait for a worker
	// QueueBytes bounds the source bytes held by waiting transforms, so
	// that a queue of large originals cannot grow memory without bound.
	// 0: no bound beyond Queue.
	QueueBytes   int64
	QueueTimeout time.Duration // longest wait for a worker
	Limits       Limits
	Encoding     Encoding
	// Observe, when set, is told how long each transform took, by output
	// format (for metrics).
	Observe func(f params.Format, d time.Duration)
}
