//go:build cgo

package transform

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
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

func cloneRGBA(m *image.RGBA) *image.RGBA {
	c := *m
	c.Pix = bytes.Clone(m.Pix)
	return &c
}

// animFrames decodes an animated output into its frames, how many times it
// plays (0: forever) and its delays in milliseconds: GIF with Go's
// decoder, WebP with libvips' CLI (every page, as one strip) and its
// header reader for the delays and loop count.
func animFrames(t *testing.T, b []byte, f params.Format) (frames []image.Image, delays []int, loop int) {
	t.Helper()
	if f == params.FormatGIF {
		g, err := gif.DecodeAll(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		// An encoder may leave unchanged pixels transparent in later
		// frames: what is shown is each frame drawn over the last.
		canvas := image.NewRGBA(image.Rect(0, 0, g.Config.Width, g.Config.Height))
		for i, fr := range g.Image {
			draw.Draw(canvas, fr.Bounds(), fr, fr.Bounds().Min, draw.Over)
			frames = append(frames, image.Image(cloneRGBA(canvas)))
			delays = append(delays, g.Delay[i]*10)
		}
		// LoopCount counts restarts; plays are one more (0: forever).
		plays := 0
		if g.LoopCount > 0 {
			plays = g.LoopCount + 1
		}
		return frames, delays, plays
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "out.webp")
	os.WriteFile(in, b, 0o644)
	vips := testtools.Path(t, "vips", "libvips-tools")
	testtools.Run(t, vips, "copy", in+"[n=-1]", filepath.Join(dir, "strip.png"))
	raw, _ := os.ReadFile(filepath.Join(dir, "strip.png"))
	strip, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	hdr := string(testtools.Run(t, testtools.Path(t, "vipsheader", "libvips-tools"), "-a", in+"[n=-1]"))
	var pageH int
	for _, line := range strings.Split(hdr, "\n") {
		k, v, _ := strings.Cut(line, ": ")
		switch k {
		case "page-height":
			pageH = atoiT(t, v)
		case "delay":
			for _, d := range strings.Fields(v) {
				delays = append(delays, atoiT(t, d))
			}
		case "loop":
			loop = atoiT(t, v)
		}
	}
	for y := 0; y+pageH <= strip.Bounds().Dy(); y += pageH {
		frames = append(frames, strip.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(image.Rect(0, y, strip.Bounds().Dx(), y+pageH)))
	}
	return frames, delays, loop
}

func atoiT(t *testing.T, s string) int {
	n := 0
	for _, c := range strings.TrimSpace(s) {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func closeTo(c color.Color, want color.RGBA) bool {
	r, g, b, _ := c.RGBA()
	d := func(a uint32, b uint8) int { return max(int(a>>8)-int(b), int(b)-int(a>>8)) }
	return d(r, want.R) < 40 && d(g, want.G) < 40 && d(b, want.B) < 40
}

// An animated GIF stays animated as gif and webp: every frame resized,
// flipped and cropped alike, in order, with its delay and the loop count;
// as jpg it is the first frame. auto=format never picks AVIF for it.
func TestAnimation(t *testing.T) {
	tr := newTransformer(t)
	src := testimages.QuadrantAnimation(80, 60, 3)
	white, black := color.RGBA{255, 255, 255, 255}, color.RGBA{0, 0, 0, 255}
	for _, c := range []struct {
		name string
		o    func(o *params.Options)
		f    params.Format
		want params.Format
		w, h int
		// topLeft says which colour a frame's top-left corner has:
		// frame (its own colour) or white (flipped).
		flipped bool
	}{
		{"gif resized", func(o *params.Options) { o.Width = 40 }, params.FormatGIF, params.FormatGIF, 40, 30, false},
		{"webp resized", func(o *params.Options) { o.Width = 40 }, params.FormatWebP, params.FormatWebP, 40, 30, false},
		{"gif flipped", func(o *params.Options) { o.Width = 40; o.FlipH = true }, params.FormatGIF, params.FormatGIF, 40, 30, true},
		{"webp cropped to a square", func(o *params.Options) { o.Width, o.Height = 30, 30 }, params.FormatWebP, params.FormatWebP, 30, 30, false},
		{"gif rotated", func(o *params.Options) { o.Width = 30; o.Rotate = 90 }, params.FormatGIF, params.FormatGIF, 30, 40, false},
		{"auto=format with AVIF accepted", func(o *params.Options) { o.Width = 40; o.AutoFormat = true }, params.FormatAVIF, params.FormatWebP, 40, 30, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := opts(func(o *params.Options) { c.o(o) })
			out, err := tr.Transform(context.Background(), src, o, c.f)
			if err != nil {
				t.Fatal(err)
			}
			if out.Format != c.want {
				t.Fatalf("written as %s, want %s", out.Format, c.want)
			}
			frames, delays, loop := animFrames(t, out.Body, c.want)
			if len(frames) != 3 {
				t.Fatalf("%d frames, want 3", len(frames))
			}
			if want := []int{100, 200, 300}; len(delays) != 3 || delays[0] != want[0] || delays[1] != want[1] || delays[2] != want[2] {
				t.Errorf("delays %v ms, want %v", delays, want)
			}
			if loop != 4 { // three restarts
				t.Errorf("plays %d times, want 4", loop)
			}
			for i, fr := range frames {
				b := fr.Bounds()
				if b.Dx() != c.w || b.Dy() != c.h {
					t.Fatalf("frame %d is %dx%d, want %dx%d", i, b.Dx(), b.Dy(), c.w, c.h)
				}
				if c.name == "gif rotated" {
					// 90° clockwise: the coloured quadrant is now top right.
					if !closeTo(fr.At(b.Max.X-2, b.Min.Y+1), testimages.FrameColours[i]) || !closeTo(fr.At(b.Min.X+1, b.Min.Y+1), black) {
						t.Errorf("frame %d not rotated alike", i)
					}
					continue
				}
				want := testimages.FrameColours[i]
				if c.flipped {
					want = white
				}
				if !closeTo(fr.At(b.Min.X+1, b.Min.Y+1), want) || !closeTo(fr.At(b.Min.X+1, b.Max.Y-2), black) {
					t.Errorf("frame %d: top-left %v, want %v", i, fr.At(b.Min.X+1, b.Min.Y+1), want)
				}
			}
		})
	}
	// An explicit fm=jpg is the first frame.
	d := run(t, tr, src, opts(func(o *params.Options) { o.Width = 40 }), params.FormatJPEG)
	if d.width != 40 || d.height != 30 || !closeTo(d.img.At(1, 1), testimages.FrameColours[0]) {
		t.Errorf("jpg: %dx%d, top-left %v", d.width, d.height, d.img.At(1, 1))
	}
}

// The frames of an animation kept animated count together against
// max_animation_pixels, from the header (413); as a still, only the first.
func TestAnimationPixelLimit(t *testing.T) {
	lim := testLimits
	lim.MaxAnimationPixels = 2 * 80 * 60 // two frames' worth; the source has three
	tr, err := New(Config{Workers: 1, Queue: 1, QueueTimeout: time.Second, Limits: lim, Encoding: testEncoding})
	if err != nil {
		t.Fatal(err)
	}
	src := testimages.QuadrantAnimation(80, 60, 0)
	o := opts(func(o *params.Options) { o.Width = 40 })
	if _, err := tr.Transform(context.Background(), src, o, params.FormatGIF); !errors.Is(err, ErrSourceTooLarge) {
		t.Errorf("animated over the limit: %v", err)
	}
	if _, err := tr.Transform(context.Background(), src, o, params.FormatPNG); err != nil {
		t.Errorf("first frame only: %v", err)
	}
}
