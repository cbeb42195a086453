// Package testimages generates images for tests: patterns whose corners
// tell crops, rotations and flips apart, EXIF-oriented JPEGs, and
// decompression bombs. It is imported by tests only.
package testimages

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"path/filepath"
	"runtime"
)

// Colours of the Quadrants pattern.
var (
	Red   = color.NRGBA{255, 0, 0, 255}
	Green = color.NRGBA{0, 255, 0, 255}
	Blue  = color.NRGBA{0, 0, 255, 255}
	White = color.NRGBA{255, 255, 255, 255}
)

// Quadrants draws a w x h image: top-left red, top-right green,
// bottom-left blue, bottom-right white.
func Quadrants(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := White
			switch {
			case x < w/2 && y < h/2:
				c = Red
			case y < h/2:
				c = Green
			case x < w/2:
				c = Blue
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// Noisy draws deterministic noise, which compresses poorly: quality
// settings make a visible difference in size.
func Noisy(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	seed := uint32(1)
	for i := range img.Pix {
		seed = seed*1664525 + 1013904223
		img.Pix[i] = byte(seed >> 24)
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	return img
}

// Photo draws a smooth, photograph-like w x h image: gradients and waves of
// several frequencies and directions per channel, with no noise, so that
// resampling differences show in it as they would in a photograph.
func Photo(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x), float64(y)
			v := func(phase float64) uint8 {
				f := 128 + 50*math.Sin(fx/97+phase) + 35*math.Cos(fy/61-phase) +
					20*math.Sin((fx+fy)/23+2*phase) + 12*math.Sin((fx-2*fy)/9+phase)
				return uint8(max(0, min(255, f)))
			}
			img.SetNRGBA(x, y, color.NRGBA{v(0), v(1.3), v(2.6), 255})
		}
	}
	return img
}

// JPEG encodes img at quality 95.
func JPEG(img image.Image) []byte { return JPEGQuality(img, 95) }

// JPEGQuality encodes img at quality q.
func JPEGQuality(img image.Image, q int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// PNG encodes img.
func PNG(img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// WithOrientation inserts an EXIF APP1 segment holding the orientation tag
// right after a JPEG's SOI marker.
func WithOrientation(jpg []byte, orientation uint16) []byte {
	var tiff bytes.Buffer
	tiff.WriteString("MM\x00\x2a")
	binary.Write(&tiff, binary.BigEndian, uint32(8)) // IFD0 offset
	binary.Write(&tiff, binary.BigEndian, uint16(1)) // one entry
	binary.Write(&tiff, binary.BigEndian, []uint16{0x0112, 3})
	binary.Write(&tiff, binary.BigEndian, uint32(1))
	binary.Write(&tiff, binary.BigEndian, []uint16{orientation, 0})
	binary.Write(&tiff, binary.BigEndian, uint32(0)) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// PNGBomb is a small, structurally valid PNG whose header declares w x h
// grey pixels: decoding it would need w*h bytes, its file is a few hundred.
func PNGBomb(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8] = 8 // bit depth; colour type 0 (grey), default compression, filter, no interlace
	chunk(&b, "IHDR", ihdr)
	// A few rows of zeros: the rest is "missing", which only a decoder notices.
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 4*(int(min(w, 1<<16))+1)))
	zw.Close()
	chunk(&b, "IDAT", z.Bytes())
	chunk(&b, "IEND", nil)
	return b.Bytes()
}

func chunk(b *bytes.Buffer, typ string, data []byte) {
	binary.Write(b, binary.BigEndian, uint32(len(data)))
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	b.WriteString(typ)
	b.Write(data)
	binary.Write(b, binary.BigEndian, crc.Sum32())
}

// PngSuiteDir returns the repository's copy of PngSuite.
func PngSuiteDir(t interface{ Fatal(...any) }) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the testimages package")
	}
	return filepath.Join(filepath.Dir(file), "..", "imagefmt", "testdata", "pngsuite")
}

// JPEGBomb is a small, complete JPEG whose frame header declares w x h.
func JPEGBomb(w, h uint16) []byte {
	b := JPEG(Quadrants(8, 8))
	for i := 2; i+9 < len(b); {
		if b[i] != 0xFF {
			break
		}
		m, n := b[i+1], int(binary.BigEndian.Uint16(b[i+2:]))
		if m == 0xC0 || m == 0xC2 { // SOF0, SOF2: precision, height, width
			binary.BigEndian.PutUint16(b[i+5:], h)
			binary.BigEndian.PutUint16(b[i+7:], w)
			return b
		}
		i += 2 + n
	}
	panic("no SOF in the encoder's output")
}

// GIFBomb is a small, complete GIF whose logical screen is w x h, holding
// one 1x1 frame.
func GIFBomb(w, h uint16) []byte { return rawGIF(w, h, 1, 1, 1, false) }

// AnimatedGIF is a w x h GIF of n frames.
func AnimatedGIF(w, h, n int) []byte {
	pal := color.Palette{color.Black, color.White}
	anim := &gif.GIF{}
	for i := 0; i < n; i++ {
		img := image.NewPaletted(image.Rect(0, 0, w, h), pal)
		img.Pix[i%len(img.Pix)] = 1
		anim.Image = append(anim.Image, img)
		anim.Delay = append(anim.Delay, 1)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, anim); err != nil {
		panic(err)
	}
	return b.Bytes()
}
