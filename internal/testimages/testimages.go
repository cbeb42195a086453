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
	"os"
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
func GIFBomb(w, h uint16) []byte {
	var b bytes.Buffer
	b.WriteString("GIF89a")
	binary.Write(&b, binary.LittleEndian, []uint16{w, h})
	b.Write([]byte{0x80, 0, 0}) // global colour table of 2 entries
	b.Write([]byte{0, 0, 0, 255, 255, 255})
	b.Write([]byte{0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0}) // 1x1 image at 0,0
	b.Write([]byte{2, 2, 0x4C, 0x01, 0})             // LZW code size 2, one data block, end
	b.WriteByte(0x3B)
	return b.Bytes()
}

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

// TIFF encodes img as a baseline TIFF: 8-bit RGB, uncompressed, one strip,
// little-endian. Go's standard library has no TIFF encoder, and this is the
// least a TIFF reader must read.
func TIFF(img image.Image) []byte {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	pixels := make([]byte, 0, 3*w*h)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			pixels = append(pixels, c.R, c.G, c.B)
		}
	}
	const entries = 10
	ifd := 8
	bps := ifd + 2 + 12*entries + 4 // BitsPerSample's three values
	data := bps + 6
	le := binary.LittleEndian
	out := []byte("II*\x00")
	out = le.AppendUint32(out, uint32(ifd))
	out = le.AppendUint16(out, entries)
	tag := func(id, typ uint16, count, value uint32) {
		out = le.AppendUint16(out, id)
		out = le.AppendUint16(out, typ)
		out = le.AppendUint32(out, count)
		if typ == 3 && count == 1 {
			out = le.AppendUint16(out, uint16(value))
			out = le.AppendUint16(out, 0)
			return
		}
		out = le.AppendUint32(out, value)
	}
	tag(256, 4, 1, uint32(w))           // ImageWidth
	tag(257, 4, 1, uint32(h))           // ImageLength
	tag(258, 3, 3, uint32(bps))         // BitsPerSample 8,8,8
	tag(259, 3, 1, 1)                   // Compression: none
	tag(262, 3, 1, 2)                   // PhotometricInterpretation: RGB
	tag(273, 4, 1, uint32(data))        // StripOffsets
	tag(277, 3, 1, 3)                   // SamplesPerPixel
	tag(278, 4, 1, uint32(h))           // RowsPerStrip
	tag(279, 4, 1, uint32(len(pixels))) // StripByteCounts
	tag(284, 3, 1, 1)                   // PlanarConfiguration: chunky
	out = le.AppendUint32(out, 0)       // no next IFD
	out = le.AppendUint16(out, 8)
	out = le.AppendUint16(out, 8)
	out = le.AppendUint16(out, 8)
	return append(out, pixels...)
}

// WebPExtended rewraps a simple lossy WebP (one VP8 chunk) in the extended
// format, a VP8X chunk first, where EXIF and XMP chunks can be added (as
// cameras and editors do; exiftool only writes into this form).
func WebPExtended(simple []byte) []byte {
	if len(simple) >= 16 && string(simple[12:16]) == "VP8X" {
		return simple
	}
	if len(simple) < 30 || string(simple[12:16]) != "VP8 " {
		panic("testimages: not a simple lossy WebP")
	}
	vp8 := simple[12:]
	w := binary.LittleEndian.Uint16(vp8[8+6:]) & 0x3fff
	h := binary.LittleEndian.Uint16(vp8[8+8:]) & 0x3fff
	x := []byte("VP8X\x0a\x00\x00\x00\x00\x00\x00\x00")
	x = append(x, byte(w-1), byte((w-1)>>8), 0, byte(h-1), byte((h-1)>>8), 0)
	body := append(append([]byte("WEBP"), x...), vp8...)
	out := []byte("RIFF")
	out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
	return append(out, body...)
}

// testdata returns the path of a file in the imagefmt package's testdata.
func testdata(name string) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("cannot locate the testimages package")
	}
	return filepath.Join(filepath.Dir(file), "..", "imagefmt", "testdata", name)
}

// withISPE returns b with every ispe property patched to w x h.
func withISPE(b []byte, w, h uint32) []byte {
	b = bytes.Clone(b)
	patched := false
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte("ispe"))
		if j < 0 {
			break
		}
		at := i + j + 4 + 4 // type, version and flags
		binary.BigEndian.PutUint32(b[at:], w)
		binary.BigEndian.PutUint32(b[at+4:], h)
		patched, i = true, at
	}
	if !patched {
		panic("no ispe to patch")
	}
	return b
}

// LyingHEIC is a real HEIC written by libvips (a 64x64 HEVC tile in a grid
// cropped to 32x24) whose ispe properties claim w x h.
func LyingHEIC(w, h uint32) []byte {
	b, err := os.ReadFile(testdata("real/photo.heic"))
	if err != nil {
		panic(err)
	}
	return withISPE(b, w, h)
}

// LyingAVIF is a real 1.2 KB AVIF whose AV1 stream is 8000x8000 and whose
// ispe properties claim w x h: the container's size is a lie that a check
// of the container alone believes, and the decoder allocates 64
// megapixels. With w, h = 8000, 8000 it is honest.
func LyingAVIF(w, h uint32) []byte {
	b, err := os.ReadFile(testdata("real/black-8000.avif"))
	if err != nil {
		panic(err)
	}
	return withISPE(b, w, h)
}

// GIFFrameBeyondScreen is a GIF whose logical screen is 100x100 and whose
// one frame claims w x h: decoders grow their canvas to the frame.
func GIFFrameBeyondScreen(w, h uint16) []byte {
	var b bytes.Buffer
	b.WriteString("GIF89a")
	binary.Write(&b, binary.LittleEndian, []uint16{100, 100})
	b.Write([]byte{0x80, 0, 0})
	b.Write([]byte{0, 0, 0, 255, 255, 255})
	b.WriteByte(0x2C)
	binary.Write(&b, binary.LittleEndian, []uint16{0, 0, w, h})
	b.WriteByte(0)
	b.Write([]byte{2, 2, 0x4C, 0x01, 0})
	b.WriteByte(0x3B)
	return b.Bytes()
}

// PNGOverflowingIDAT is a PNG whose header says w x h (8-bit grey) and
// whose IDAT holds the compressed rows of a rows-times-larger image: a
// decoder must stop at what the header says.
func PNGOverflowingIDAT(w, h, rows uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0
	chunk(&b, "IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	row := make([]byte, 1+w)
	for range h * rows {
		zw.Write(row)
	}
	zw.Close()
	chunk(&b, "IDAT", z.Bytes())
	chunk(&b, "IEND", nil)
	return b.Bytes()
}

// TIFFBomb is a small TIFF whose header declares w x h RGB pixels.
func TIFFBomb(w, h uint32) []byte {
	b := TIFF(Quadrants(2, 2))
	le := binary.LittleEndian
	// ImageWidth and ImageLength are the first two entries of TIFF's IFD.
	le.PutUint32(b[8+2+8:], w)
	le.PutUint32(b[8+2+12+8:], h)
	return b
}

// FrameColours are the colours of QuadrantAnimation's frames' top-left
// quadrant, frame by frame.
var FrameColours = []color.RGBA{{255, 0, 0, 255}, {0, 0, 255, 255}, {0, 160, 0, 255}}

// QuadrantAnimationN is QuadrantAnimation with n frames, the colours
// cycling, each delayed 100 ms, looping forever.
func QuadrantAnimationN(w, h, n int) []byte {
	pal := color.Palette{color.Black, color.White, FrameColours[0], FrameColours[1], FrameColours[2]}
	anim := &gif.GIF{}
	for i := range n {
		img := image.NewPaletted(image.Rect(0, 0, w, h), pal)
		for y := 0; y < h/2; y++ {
			for x := 0; x < w; x++ {
				c := uint8(1)
				if x < w/2 {
					c = uint8(2 + i%3)
				}
				img.SetColorIndex(x, y, c)
			}
		}
		anim.Image = append(anim.Image, img)
		anim.Delay = append(anim.Delay, 10)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, anim); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// QuadrantAnimation is a w x h animated GIF of three frames, each split in
// quadrants: the top-left is the frame's colour from FrameColours, the top
// right white, the bottom half black. Delays are 10, 20 and 30
// hundredths of a second; it loops loops times (0: forever).
func QuadrantAnimation(w, h, loops int) []byte {
	pal := color.Palette{color.Black, color.White, FrameColours[0], FrameColours[1], FrameColours[2]}
	anim := &gif.GIF{LoopCount: loops}
	for i := range FrameColours {
		img := image.NewPaletted(image.Rect(0, 0, w, h), pal)
		for y := 0; y < h/2; y++ {
			for x := 0; x < w; x++ {
				c := uint8(1)
				if x < w/2 {
					c = uint8(2 + i)
				}
				img.SetColorIndex(x, y, c)
			}
		}
		anim.Image = append(anim.Image, img)
		anim.Delay = append(anim.Delay, 10*(i+1))
		anim.Disposal = append(anim.Disposal, gif.DisposalNone)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, anim); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// GIFFrames is a GIF whose logical screen and n frames all claim w x h,
// each holding almost no data: an animation whose header alone says how
// much decoding every frame would cost.
func GIFFrames(w, h uint16, n int) []byte {
	var b bytes.Buffer
	b.WriteString("GIF89a")
	binary.Write(&b, binary.LittleEndian, []uint16{w, h})
	b.Write([]byte{0x80, 0, 0})
	b.Write([]byte{0, 0, 0, 255, 255, 255})
	b.Write([]byte{0x21, 0xFF, 11})
	b.WriteString("NETSCAPE2.0")
	b.Write([]byte{3, 1, 0, 0, 0})
	for range n {
		b.Write([]byte{0x21, 0xF9, 4, 0, 10, 0, 0, 0}) // 100 ms
		b.WriteByte(0x2C)
		binary.Write(&b, binary.LittleEndian, []uint16{0, 0, w, h})
		b.WriteByte(0)
		b.Write([]byte{2, 2, 0x4C, 0x01, 0})
	}
	b.WriteByte(0x3B)
	return b.Bytes()
}
