package imagefmt

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
)

// tiffWith is an EXIF payload (a TIFF structure) with an Orientation tag
// (0 leaves it out) and an Artist string that must not survive.
func tiffWith(orientation uint16, bo binary.AppendByteOrder) []byte {
	var b []byte
	if bo == binary.AppendByteOrder(binary.LittleEndian) {
		b = []byte("II*\x00")
	} else {
		b = []byte("MM\x00*")
	}
	b = bo.AppendUint32(b, 8)
	entries := uint16(1)
	if orientation != 0 {
		entries = 2
	}
	b = bo.AppendUint16(b, entries)
	artist := []byte("LEAK-EXIF-ARTIST\x00")
	valueAt := uint32(8 + 2 + 12*int(entries) + 4)
	if orientation != 0 {
		b = bo.AppendUint16(b, 0x0112)
		b = bo.AppendUint16(b, 3)
		b = bo.AppendUint32(b, 1)
		b = bo.AppendUint16(b, orientation)
		b = bo.AppendUint16(b, 0)
	}
	b = bo.AppendUint16(b, 0x013B) // Artist, ASCII
	b = bo.AppendUint16(b, 2)
	b = bo.AppendUint32(b, uint32(len(artist)))
	b = bo.AppendUint32(b, valueAt)
	b = bo.AppendUint32(b, 0)
	return append(b, artist...)
}

const xmpPacket = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>LEAK-XMP</dc:creator></x:xmpmeta>`

// leakyJPEG inserts EXIF, XMP, IPTC, a comment, an unknown APP segment and
// a trailer into a real JPEG, and an ICC profile that must stay.
func leakyJPEG(t testing.TB, orientation uint16) []byte {
	jpg := makeJPEG(t, 40, 30, true)
	segs := bytes.Join([][]byte{
		seg(0xE1, append([]byte("Exif\x00\x00"), tiffWith(orientation, binary.BigEndian)...)...),
		seg(0xE1, append([]byte("http://ns.adobe.com/xap/1.0/\x00"), xmpPacket...)...),
		seg(0xED, []byte("Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x10LEAK-IPTC-BYLINE")...),
		seg(0xFE, []byte("LEAK-COMMENT")...),
		seg(0xEA, []byte("LEAK-APP10")...),
		seg(0xE2, []byte("ICC_PROFILE\x00\x01\x01fake profile")...),
	}, nil)
	out := append(append(append([]byte{}, jpg[:2]...), segs...), jpg[2:]...)
	return append(out, "LEAK-TRAILER"...)
}

func leakyPNG(orientation uint16) []byte {
	img := makePNGImage()
	idat := img[pngChunkOffset(img, "IDAT"):pngChunkOffset(img, "IEND")]
	return pngFile(img[8:8+25], pngChunk("gAMA", 0, 0, 0xB1, 0x8F),
		pngChunk("tEXt", []byte("Author\x00LEAK-TEXT")...),
		pngChunk("iTXt", []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00"+xmpPacket)...),
		pngChunk("zTXt", []byte("Comment\x00\x00x\x9c\xf3q\x0cv\xd5\x05\x00\x06\x28\x01\xb1")...),
		pngChunk("eXIf", tiffWith(orientation, binary.LittleEndian)...),
		pngChunk("tIME", 7, 0xE9, 1, 2, 3, 4, 5),
		pngChunk("prVt", []byte("LEAK-PRIVATE")...),
		idat, pngChunk("IEND"), []byte("LEAK-TRAILER"))
}

func makePNGImage() []byte {
	var b bytes.Buffer
	png.Encode(&b, picture(20, 10, true))
	return b.Bytes()
}

func leakyWebP(orientation uint16) []byte {
	return riff(chunk("VP8X", []byte{vp8xEXIF | vp8xXMP, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
		chunk("VP8L", webpVP8L1x1()[20:]),
		chunk("EXIF", tiffWith(orientation, binary.LittleEndian)),
		chunk("XMP ", []byte(xmpPacket)),
		chunk("LEAK", []byte("LEAK-UNKNOWN-CHUNK")))
}

func leakyGIF(t testing.TB) []byte {
	g := makeGIF(t, 3, 8, 8)
	pos, _ := skipColourTable(g, 13, g[10])
	comment := append([]byte{0x21, 0xFE, 12}, "LEAK-COMMENT"...)
	comment = append(comment, 0)
	xmp := append([]byte{0x21, 0xFF, 11}, "XMP DataXMP"...)
	xmp = append(append(xmp, byte(len(xmpPacket))), xmpPacket...)
	xmp = append(xmp, 0)
	out := append(append(append([]byte{}, g[:pos]...), comment...), xmp...)
	return append(append(out, g[pos:]...), "LEAK-TRAILER"...)
}

func decodeAny(t *testing.T, b []byte) image.Image {
	t.Helper()
	var img image.Image
	var err error
	switch Sniff(b) {
	case JPEG:
		img, err = jpeg.Decode(bytes.NewReader(b))
	case PNG:
		img, err = png.Decode(bytes.NewReader(b))
	case GIF:
		img, err = gif.Decode(bytes.NewReader(b))
	default:
		return nil
	}
	if err != nil {
		t.Fatalf("does not decode: %v", err)
	}
	return img
}

// Every kind of metadata goes; the pixels, the colour profile and the
// structure stay (the standard library decodes the same pixels).
func TestStripMetadata(t *testing.T) {
	for _, c := range []struct {
		name   string
		in     []byte
		format Format
		kept   []string // must survive
	}{
		{"jpeg", leakyJPEG(t, 1), JPEG, []string{"ICC_PROFILE"}},
		{"jpeg without orientation", leakyJPEG(t, 0), JPEG, []string{"ICC_PROFILE"}},
		{"png", leakyPNG(1), PNG, []string{"gAMA"}},
		{"webp", leakyWebP(1), WebP, []string{"VP8L"}},
		{"gif", leakyGIF(t), GIF, []string{"NETSCAPE2.0"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before, err := Inspect(c.in, c.format)
			if err != nil {
				t.Fatalf("the leaky fixture is not valid: %v", err)
			}
			out, ok := StripMetadata(c.in, c.format)
			if !ok {
				t.Fatal("not stripped")
			}
			if bytes.Contains(out, []byte("LEAK")) {
				t.Errorf("left: %q", out)
			}
			for _, k := range c.kept {
				if !bytes.Contains(out, []byte(k)) {
					t.Errorf("%s was removed", k)
				}
			}
			after, err := Inspect(out, c.format)
			if err != nil || after != before {
				t.Fatalf("after stripping: %+v %v, before %+v", after, err, before)
			}
			if a, b := decodeAny(t, c.in), decodeAny(t, out); a != nil && !samePixels(a, b) {
				t.Error("pixels changed")
			}
			if c.format == WebP && (out[20]&(vp8xEXIF|vp8xXMP) != 0 ||
				int(binary.LittleEndian.Uint32(out[4:]))+8 != len(out)) {
				t.Errorf("VP8X flags %#x, RIFF size %d of %d", out[20], binary.LittleEndian.Uint32(out[4:]), len(out))
			}
		})
	}
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

// A clean file comes back as the same slice: nothing to copy.
func TestStripMetadataCleanIsUnchanged(t *testing.T) {
	for _, fx := range validFixtures(t) {
		out, ok := StripMetadata(fx.data, fx.format)
		switch fx.format {
		case JPEG, PNG, GIF, WebP:
			if !ok {
				t.Errorf("%s: not stripped", fx.name)
				continue
			}
			if info, err := Inspect(out, fx.format); err != nil || info != fx.info {
				t.Errorf("%s: after stripping %+v %v", fx.name, info, err)
			}
		case AVIF:
			if !ok || !bytes.Equal(out, fx.data) {
				t.Errorf("%s: an AVIF without metadata items must pass unchanged", fx.name)
			}
		default:
			if ok {
				t.Errorf("%s: %v cannot be stripped losslessly", fx.name, fx.format)
			}
		}
	}
	jpg := makeJPEG(t, 16, 16, false)
	if out, _ := StripMetadata(jpg, JPEG); &out[0] != &jpg[0] || len(out) != len(jpg) {
		t.Error("a clean JPEG was copied")
	}
}

// An EXIF orientation other than 1 cannot be dropped without rotating the
// pixels: the caller must re-encode. So must an AVIF with an Exif item.
func TestStripMetadataNeedsReencode(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		f    Format
	}{
		{"jpeg rotated", leakyJPEG(t, 6), JPEG},
		{"png rotated", leakyPNG(8), PNG},
		{"webp rotated", leakyWebP(3), WebP},
		{"jpeg unreadable exif", append(append([]byte{0xFF, 0xD8}, seg(0xE1, []byte("Exif\x00\x00MM\x00*\xff\xff\xff\xff")...)...), makeJPEG(t, 8, 8, false)[2:]...), JPEG},
		{"avif with exif", avifWithItem("Exif"), AVIF},
		{"avif with xmp", avifWithItem("mime"), AVIF},
	} {
		if err := Check(c.in, c.f); err != nil {
			t.Fatalf("%s: fixture invalid: %v", c.name, err)
		}
		if _, ok := StripMetadata(c.in, c.f); ok {
			t.Errorf("%s: stripped losslessly", c.name)
		}
	}
}

// avifWithItem is the hand-made AVIF with a second item of type typ.
func avifWithItem(typ string) []byte {
	b := makeAVIF(avifSpec{})
	old := fullbox("iinf", 0, 0, u16(1), fullbox("infe", 2, 0, u16(1), u16(0), []byte("av01\x00")))
	repl := fullbox("iinf", 0, 0, u16(2), fullbox("infe", 2, 0, u16(1), u16(0), []byte("av01\x00")),
		fullbox("infe", 2, 0, u16(2), u16(0), []byte(typ+"\x00")))
	i := bytes.Index(b, old)
	grow := len(repl) - len(old)
	out := append(append(append([]byte{}, b[:i]...), repl...), b[i+len(old):]...)
	// Grow the meta box and move the item's data offset.
	m := bytes.Index(out, []byte("meta")) - 4
	binary.BigEndian.PutUint32(out[m:], binary.BigEndian.Uint32(out[m:])+uint32(grow))
	loc := bytes.Index(out, []byte("iloc")) + 4 + 4 + 2 + 2 + 2 + 2 + 2
	binary.BigEndian.PutUint32(out[loc:], binary.BigEndian.Uint32(out[loc:])+uint32(grow))
	return out
}
