//go:build cgo

package transform

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/testimages"
	"github.com/imgproxy-team/imgproxy/internal/testtools"
)

// withDimensions returns a real image of one of six formats whose header
// is patched to declare w x h, the coded data left as it was: the shapes
// of a header that lies.
func withDimensions(which uint8, w, h uint32) []byte {
	le, be := binary.LittleEndian, binary.BigEndian
	switch which % 6 {
	case 0: // AVIF: ispe over an 8000x8000 AV1 stream
		return testimages.LyingAVIF(w, h)
	case 1: // JPEG: the frame header
		return testimages.JPEGBomb(uint16(w), uint16(h))
	case 2: // PNG: IHDR, with its CRC fixed
		b := testimages.PNG(testimages.Quadrants(64, 48))
		be.PutUint32(b[16:], w)
		be.PutUint32(b[20:], h)
		be.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
		return b
	case 3: // GIF: a frame beyond the logical screen
		return testimages.GIFFrameBeyondScreen(uint16(w), uint16(h))
	case 4: // WebP: the VP8X canvas, the VP8 frame left at 64x48
		b := testimages.WebPExtended(webpSample())
		d := b[20:]
		d[4], d[5], d[6] = byte(w-1), byte((w-1)>>8), byte((w-1)>>16)
		d[7], d[8], d[9] = byte(h-1), byte((h-1)>>8), byte((h-1)>>16)
		return b
	default: // TIFF: ImageWidth and ImageLength
		b := testimages.TIFF(testimages.Quadrants(4, 4))
		le.PutUint32(b[8+2+8:], w)
		le.PutUint32(b[8+2+12+8:], h)
		return b
	}
}

var webpOnce []byte

// webpSample is a simple lossy 64x48 WebP made by libvips.
func webpSample() []byte {
	if webpOnce == nil {
		tr, _ := New(Config{Workers: 1, Queue: 1, QueueTimeout: time.Second, Limits: testLimits, Encoding: testEncoding})
		out, err := tr.Transform(context.Background(), testimages.JPEG(testimages.Quadrants(64, 48)), &params.Options{Transform: true}, params.FormatWebP)
		if err != nil {
			panic(err)
		}
		webpOnce = bytes.Clone(out.Body)
		if string(webpOnce[12:16]) == "VP8X" { // rebuild the simple form WebPExtended expects
			webpOnce = append([]byte("RIFF\x00\x00\x00\x00WEBP"), webpOnce[30:]...)
			le := binary.LittleEndian
			le.PutUint32(webpOnce[4:], uint32(len(webpOnce)-8))
		}
	}
	return webpOnce
}

// FuzzContainerDimensions mutates the dimensions a file's container
// declares, over real files of every readable format, and transforms the
// result with a 4-megapixel limit: whatever the header says, the process's
// peak memory never rises by more than an allowed image costs, and an
// output is never larger than the limits allow.
func FuzzContainerDimensions(f *testing.F) {
	for which := range uint8(6) {
		f.Add(which, uint32(100), uint32(100))
		f.Add(which, uint32(8000), uint32(8000))
		f.Add(which, uint32(1), uint32(65535))
	}
	lim := Limits{MaxSourcePixels: 4_000_000, MaxOutputDim: 2048}
	tr, err := New(Config{Workers: 1, Queue: 1, QueueTimeout: time.Second, Limits: lim, Encoding: testEncoding})
	if err != nil {
		f.Fatal(err)
	}
	testtools.ResetPeak(f)
	f.Fuzz(func(t *testing.T, which uint8, w, h uint32) {
		if w == 0 || h == 0 || w > 1<<24 || h > 1<<24 {
			return
		}
		src := withDimensions(which, w, h)
		testtools.ResetPeak(t)
		before := testtools.ProcStatus(t, "VmRSS:")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := tr.Transform(ctx, src, &params.Options{Width: 64, DPR: 100, Transform: true}, params.FormatJPEG)
		if grew := testtools.ProcStatus(t, "VmHWM:") - before; grew > 256<<20 {
			t.Fatalf("format %d, %dx%d: peak memory rose by %d MiB", which%6, w, h, grew>>20)
		}
		switch {
		case err == nil && (out.Width > 64 || out.Height > lim.MaxOutputDim):
			t.Fatalf("format %d, %dx%d: output %dx%d", which%6, w, h, out.Width, out.Height)
		case err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsupported):
			t.Fatalf("format %d, %dx%d: %v", which%6, w, h, err)
		}
	})
}
