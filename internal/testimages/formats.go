package testimages

import (
	"encoding/binary"
	"image"
	"image/color"
)

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
