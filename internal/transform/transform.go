package transform

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/imagefmt"
	"github.com/imgproxy-team/imgproxy/internal/params"
)

// Transformer resizes and re-encodes images in a bounded pool of workers.
type Transformer struct {
	cfg     Config
	slots   chan struct{} // one token per busy worker
	waiting atomic.Int64  // requests queued for a worker
	queued  atomic.Int64  // source bytes of the queued requests
	done    atomic.Int64  // transforms finished, for tests and metrics
}

// New starts libvips (once per process) and returns a Transformer.
func New(cfg Config) (*Transformer, error) {
	if err := startLibvips(); err != nil {
		return nil, err
	}
	if cfg.Limits.AllowSVG {
		allowSVG()
	}
	if cfg.Limits.AllowJXL {
		allowJXL()
	}
	if cfg.Workers < 1 {
		cfg.Workers = runtime.NumCPU()
	}
	return &Transformer{cfg: cfg, slots: make(chan struct{}, cfg.Workers)}, nil
}

// Output is a transformed image.
type Output struct {
	Body          []byte
	Format        params.Format
	Width, Height int
}

// Stats is a snapshot of the pool.
type Stats struct {
	Busy, Waiting int
	WaitingBytes  int64 // source bytes held by waiting transforms
	Done          int64
}

// Stats returns the pool's current load.
func (t *Transformer) Stats() Stats {
	return Stats{Busy: len(t.slots), Waiting: int(t.waiting.Load()), WaitingBytes: t.queued.Load(), Done: t.done.Load()}
}

// CheckCapacity returns an ErrOverloaded error when a transform asked for
// now would be refused for want of room in the queue, so that a caller
// under overload refuses before it pays for fetching the original. It is
// a snapshot: Transform still decides.
func (t *Transformer) CheckCapacity() error {
	if len(t.slots) < cap(t.slots) {
		return nil // a worker is free
	}
	w := t.waiting.Load()
	if w >= int64(t.cfg.Queue) {
		return fmt.Errorf("%w: %d waiting", ErrOverloaded, w)
	}
	// The next source's size is not known before it is fetched: expect one
	// of the waiting ones' average size. Sources of one size then stop at
	// the byte bound here rather than one by one after their fetch.
	if q := t.queued.Load(); t.cfg.QueueBytes > 0 && w > 0 && q+q/w > t.cfg.QueueBytes {
		return fmt.Errorf("%w: %d bytes of originals waiting", ErrOverloaded, q)
	}
	return nil
}

// heicDecoder and jxlLoader are HEICDecoder and JXLLoader, read once: they
// cannot change while running.
var (
	heicDecoder = sync.OnceValue(HEICDecoder)
	jxlLoader   = sync.OnceValue(JXLLoader)
)

// readable lists the source formats accepted. SVG and JPEG XL only when
// allowed (SVG only as a source to rasterise); formats libvips reads only
// through untrusted loaders (ImageMagick, PDF) are never among them.
func readable(f imagefmt.Format, lim Limits) bool {
	switch f {
	case imagefmt.JPEG, imagefmt.PNG, imagefmt.GIF, imagefmt.WebP, imagefmt.AVIF, imagefmt.TIFF, imagefmt.HEIC:
		return true
	case imagefmt.SVG:
		return lim.AllowSVG
	case imagefmt.JXL:
		return lim.AllowJXL
	}
	return false
}

// sniff returns src's format by its bytes, or ErrUnsupported when it is
// not one this server reads.
func sniff(src []byte, lim Limits) (imagefmt.Format, error) {
	f := imagefmt.Sniff(src)
	switch {
	case len(src) == 0:
		return f, fmt.Errorf("%w: empty file", ErrUnsupported)
	case f == imagefmt.JXL && !lim.AllowJXL:
		return f, fmt.Errorf("%w: jxl is turned off (transform.allow_jxl)", ErrUnsupported)
	case !readable(f, lim):
		return f, fmt.Errorf("%w: %s", ErrUnsupported, f)
	case f == imagefmt.HEIC && !heicDecoder():
		return f, fmt.Errorf("%w: heic needs libheif's HEVC decoder (libde265), which this libheif lacks", ErrUnsupported)
	case f == imagefmt.JXL && !jxlLoader():
		return f, fmt.Errorf("%w: jxl needs libvips built with libjxl, which this libvips is not", ErrUnsupported)
	}
	return f, nil
}

// inspect sniffs src, checks that it is complete, and checks the limits
// its headers declare: every byte that reaches libvips has passed it, and
// no pixel has been decoded yet.
func inspect(src []byte, lim Limits) (imagefmt.Format, error) {
	f, err := sniff(src, lim)
	if err != nil {
		return f, err
	}
	info, err := imagefmt.Inspect(src, f)
	if err != nil {
		return f, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if px := int64(info.Width) * int64(info.Height); px > lim.MaxSourcePixels {
		return f, fmt.Errorf("%w: %dx%d is %d pixels, more than %d", ErrSourceTooLarge, info.Width, info.Height, px, lim.MaxSourcePixels)
	}
	// An AVIF's coded images (tiles, an alpha plane, thumbnails), by the
	// sizes their streams declare: the image and an alpha plane of the
	// same size fit, a file that would make the decoder do more does not.
	if info.Decoded > 2*lim.MaxSourcePixels {
		return f, fmt.Errorf("%w: %d coded pixels, more than twice %d", ErrSourceTooLarge, info.Decoded, lim.MaxSourcePixels)
	}
	maxFrames := lim.MaxSourceFrames
	if maxFrames <= 0 {
		maxFrames = 1000
	}
	if info.Frames > maxFrames {
		return f, fmt.Errorf("%w: %d frames, more than %d", ErrSourceTooLarge, info.Frames, maxFrames)
	}
	return f, nil
}

// Original serves src as it is, for a URL without transform parameters:
// only a complete image in a readable format, never SVG (a browser would
// run its scripts; with transform.allow_svg it is rasterised), and never
// with its metadata. JPEG, PNG, WebP and GIF
// lose their metadata without being re-encoded (imagefmt.StripMetadata),
// and come back unchanged when they carry none; AVIF and TIFF with
// metadata, and images whose EXIF orientation is not 1, are re-encoded
// upright in their default output format, as a transform to their own size
// would be.
func (t *Transformer) Original(ctx context.Context, src []byte) (Output, error) {
	kind, err := sniff(src, t.cfg.Limits)
	if err != nil {
		return Output{}, err
	}
	if kind == imagefmt.SVG {
		// Allowed only rasterised: as png at its own size.
		return t.Transform(ctx, src, &params.Options{}, params.FormatDefault)
	}
	if err := imagefmt.Check(src, kind); err != nil {
		return Output{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if clean, ok := imagefmt.StripMetadata(src, kind); ok {
		return Output{Body: clean, Format: defaultFormat(kind, false)}, nil
	}
	return t.Transform(ctx, src, &params.Options{}, params.FormatDefault)
}

// Transform applies o to src and encodes it as f (FormatDefault: decided by
// the source). It waits for a worker while ctx allows and the queue has
// room.
func (t *Transformer) Transform(ctx context.Context, src []byte, o *params.Options, f params.Format) (Output, error) {
	kind, err := inspect(src, t.cfg.Limits)
	if err != nil {
		return Output{}, err
	}
	if err := t.acquire(ctx, int64(len(src))); err != nil {
		return Output{}, err
	}
	defer t.release()
	if err := ctx.Err(); err != nil {
		return Output{}, err
	}

	h, err := readHeader(src)
	if err != nil {
		return Output{}, fmt.Errorf("%w: %s header: %v", ErrCorrupt, kind, err)
	}
	// Again from libvips' reading of the header, which covers the formats
	// whose size the pure-Go walk does not parse (TIFF, SVG).
	if px := int64(h.width) * int64(h.height); px > t.cfg.Limits.MaxSourcePixels {
		return Output{}, fmt.Errorf("%w: %dx%d is %d pixels, more than %d", ErrSourceTooLarge, h.width, h.height, px, t.cfg.Limits.MaxSourcePixels)
	}
	h.jpeg = kind == imagefmt.JPEG
	if kind == imagefmt.SVG && !o.Enlarge {
		// Vectors render sharp at any size: "never scale past 1" is a
		// rule for pixels. w=100 on a 10x10 drawing is 100 wide.
		svg := *o
		svg.Enlarge = true
		o = &svg
	}
	if f == params.FormatDefault {
		f = defaultFormat(kind, h.hasAlpha)
	}
	if h.frames > 1 {
		f = animationFormat(f, o.AutoFormat)
		if err := t.checkAnimation(h, f); err != nil {
			return Output{}, err
		}
	}
	p, err := makePlan(h, o, f, t.cfg.Encoding, t.cfg.Limits)
	if err != nil {
		return Output{}, err
	}
	start := time.Now()
	body, err := render(ctx, src, &p)
	if t.cfg.Observe != nil {
		t.cfg.Observe(f, time.Since(start))
	}
	if ctxErr := ctx.Err(); err != nil && errors.Is(err, ctxErr) {
		return Output{}, err // abandoned, not corrupt
	}
	if err != nil {
		return Output{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, kind, err)
	}
	// vips.c removed every metadata field before saving, but a saver may
	// still write some of its own making (libvips 8.14's WebP saver adds
	// an EXIF block built from the resolution). What leaves is checked
	// here, whatever the saver did.
	clean, ok := imagefmt.StripMetadata(body, container(f))
	if !ok {
		return Output{}, fmt.Errorf("%s output carries metadata that cannot be removed", f)
	}
	w, hh := p.outSize()
	return Output{Body: clean, Format: f, Width: w, Height: hh}, nil
}

// defaultFormat is the output format when a URL names none: the source's
// own when it can be written, else jpg (png when there is alpha).
func defaultFormat(kind imagefmt.Format, alpha bool) params.Format {
	switch kind {
	case imagefmt.JPEG:
		return params.FormatJPEG
	case imagefmt.PNG:
		return params.FormatPNG
	case imagefmt.WebP:
		return params.FormatWebP
	case imagefmt.AVIF:
		return params.FormatAVIF
	case imagefmt.GIF:
		return params.FormatGIF
	case imagefmt.SVG:
		return params.FormatPNG
	}
	// TIFF, HEIC and JPEG XL (which browsers other than Safari do not show).
	if alpha {
		return params.FormatPNG
	}
	return params.FormatJPEG
}

// animationFormat is the format an animated source is written as: what
// the URL asks for, except that auto=format never picks a format that
// would keep only the first frame (AVIF becomes WebP, JPEG and PNG become
// GIF). An explicit fm=jpg, png or avif gives the first frame.
func animationFormat(f params.Format, auto bool) params.Format {
	if !auto {
		return f
	}
	switch f {
	case params.FormatAVIF:
		return params.FormatWebP
	case params.FormatJPEG, params.FormatPNG:
		return params.FormatGIF
	}
	return f
}

// checkAnimation refuses, from the header, an animation kept animated
// whose frames together exceed the animation pixel limit.
func (t *Transformer) checkAnimation(h source, f params.Format) error {
	if f != params.FormatGIF && f != params.FormatWebP {
		return nil // the first frame only
	}
	limit := t.cfg.Limits.MaxAnimationPixels
	if limit <= 0 {
		limit = 100_000_000
	}
	if px := int64(h.frames) * int64(h.width) * int64(h.height); px > limit {
		return fmt.Errorf("%w: %d frames of %dx%d are %d pixels, more than %d for an animation",
			ErrSourceTooLarge, h.frames, h.width, h.height, px, limit)
	}
	return nil
}

// container is the file format an output format is written as.
func container(f params.Format) imagefmt.Format {
	switch f {
	case params.FormatJPEG:
		return imagefmt.JPEG
	case params.FormatPNG:
		return imagefmt.PNG
	case params.FormatWebP:
		return imagefmt.WebP
	case params.FormatAVIF:
		return imagefmt.AVIF
	case params.FormatGIF:
		return imagefmt.GIF
	}
	return imagefmt.Unknown
}

// acquire takes a worker slot for a source of size bytes, queueing while
// there is room in the queue (by count and by bytes), for at most the queue
// timeout and while ctx allows.
func (t *Transformer) acquire(ctx context.Context, size int64) error {
	select {
	case t.slots <- struct{}{}:
		return nil
	default:
	}
	if t.waiting.Add(1) > int64(t.cfg.Queue) {
		t.waiting.Add(-1)
		return fmt.Errorf("%w: %d waiting", ErrOverloaded, t.cfg.Queue)
	}
	defer t.waiting.Add(-1)
	if q := t.queued.Add(size); t.cfg.QueueBytes > 0 && q > t.cfg.QueueBytes && q != size {
		// Over the byte bound, unless this is the only one waiting: one
		// original larger than the bound still gets its turn.
		t.queued.Add(-size)
		return fmt.Errorf("%w: %d bytes of originals waiting", ErrOverloaded, q-size)
	}
	defer t.queued.Add(-size)
	timer := time.NewTimer(t.cfg.QueueTimeout)
	defer timer.Stop()
	select {
	case t.slots <- struct{}{}:
		return nil
	case <-timer.C:
		return fmt.Errorf("%w: no worker free within %s", ErrOverloaded, t.cfg.QueueTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (t *Transformer) release() {
	<-t.slots
	t.done.Add(1)
}
