package imagefmt

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// fixture is a valid file and what Inspect must say about it.
type fixture struct {
	name   string
	data   []byte
	format Format
	info   Info
}

// validFixtures returns every valid file the tests know: images made here
// with the standard library's encoders, WebP and AVIF files assembled by
// hand, and real files written by libvips (testdata/real).
func validFixtures(t testing.TB) []fixture {
	t.Helper()
	sq := func(w, h, frames int) Info { return Info{Width: w, Height: h, Frames: frames} }
	coded := func(w, h int, decoded int64) Info { return Info{Width: w, Height: h, Frames: 1, Decoded: decoded} }
	return []fixture{
		{"jpeg/stdlib", makeJPEG(t, 40, 30, false), JPEG, sq(40, 30, 1)},
		{"jpeg/stdlib-noisy", makeJPEG(t, 64, 48, true), JPEG, sq(64, 48, 1)},
		{"jpeg/progressive", readTestdata(t, "real/progressive.jpg"), JPEG, sq(32, 24, 1)},
		{"jpeg/restart-markers", readTestdata(t, "real/restart.jpg"), JPEG, sq(32, 24, 1)},
		{"png/stdlib", makePNG(t, 40, 30), PNG, sq(40, 30, 1)},
		{"gif/stdlib", makeGIF(t, 1, 20, 10), GIF, sq(20, 10, 1)},
		{"gif/stdlib-animated", makeGIF(t, 5, 8, 8), GIF, sq(8, 8, 5)},
		{"gif/libvips-animated", readTestdata(t, "real/anim.gif"), GIF, sq(16, 16, 3)},
		{"webp/hand-vp8l-1x1", webpVP8L1x1(), WebP, sq(1, 1, 1)},
		{"webp/hand-vp8", riff(chunk("VP8 ", vp8KeyFrame(300, 200))), WebP, sq(300, 200, 1)},
		{"webp/hand-animated", webpAnimated(4), WebP, sq(10, 6, 4)},
		{"webp/libvips-lossy", readTestdata(t, "real/lossy.webp"), WebP, sq(32, 24, 1)},
		{"webp/libvips-lossless", readTestdata(t, "real/lossless.webp"), WebP, sq(32, 24, 1)},
		{"webp/libvips-alpha", readTestdata(t, "real/alpha.webp"), WebP, sq(32, 24, 1)},
		{"webp/libvips-animated", readTestdata(t, "real/anim.webp"), WebP, sq(16, 16, 3)},
		{"avif/hand", makeAVIF(avifSpec{}), AVIF, coded(64, 48, 64*48)},
		{"avif/libvips", readTestdata(t, "real/photo.avif"), AVIF, coded(32, 24, 32*24)},
		{"avif/libvips-alpha", readTestdata(t, "real/alpha.avif"), AVIF, coded(32, 24, 2*32*24)},
		{"heic/libvips-grid", readTestdata(t, "real/photo.heic"), HEIC, coded(32, 24, 64*64)}, // one 64x64 tile
		{"jxl/cjxl-codestream", readTestdata(t, "real/photo.jxl"), JXL, sq(32, 24, 1)},
		{"jxl/cjxl-container", readTestdata(t, "real/container.jxl"), JXL, sq(32, 24, 1)},
		{"jxl/cjxl-parts", readTestdata(t, "real/parts.jxl"), JXL, sq(32, 24, 1)},
		{"tiff/libvips", readTestdata(t, "real/photo.tif"), TIFF, Info{}},
		{"bmp/libvips", readTestdata(t, "real/photo.bmp"), BMP, Info{}},
		{"svg/plain", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>`), SVG, Info{}},
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// picture returns an RGBA image: a smooth gradient, or noise, which JPEG
// compresses poorly and so fills the entropy-coded data with 0xFF bytes.
func picture(w, h int, noisy bool) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255}
			if noisy {
				c = color.RGBA{uint8(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32()), 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func makeJPEG(t testing.TB, w, h int, noisy bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, picture(w, h, noisy), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func makePNG(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, picture(w, h, false)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func makeGIF(t testing.TB, frames, w, h int) []byte {
	t.Helper()
	anim := &gif.GIF{}
	for i := range frames {
		img := image.NewPaletted(image.Rect(0, 0, w, h), palette.Plan9)
		img.SetColorIndex(i%w, 0, uint8(i))
		anim.Image = append(anim.Image, img)
		anim.Delay = append(anim.Delay, 10)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, anim); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// chunk builds a RIFF chunk, padded to an even length.
func chunk(fourcc string, data ...[]byte) []byte {
	body := bytes.Join(data, nil)
	out := binary.LittleEndian.AppendUint32([]byte(fourcc), uint32(len(body)))
	out = append(out, body...)
	if len(body)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

// riff wraps chunks in a RIFF WEBP header.
func riff(chunks ...[]byte) []byte {
	body := bytes.Join(chunks, nil)
	out := binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(4+len(body)))
	return append(append(out, "WEBP"...), body...)
}

// webpVP8L1x1 is a complete lossless 1x1 WebP, small enough to write out.
func webpVP8L1x1() []byte {
	return riff(chunk("VP8L", []byte{0x2f, 0x00, 0x00, 0x00, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88, 0x88, 0xfe, 0x07, 0x00}))
}

// vp8KeyFrame builds the header of a VP8 key frame of w x h with an 8-byte
// first partition: shown, version 0. The partition bytes are not real.
func vp8KeyFrame(w, h int) []byte {
	const part = 8
	tag := uint32(0) | 0<<1 | 1<<4 | part<<5
	d := []byte{byte(tag), byte(tag >> 8), byte(tag >> 16), 0x9d, 0x01, 0x2a}
	d = binary.LittleEndian.AppendUint16(d, uint16(w))
	d = binary.LittleEndian.AppendUint16(d, uint16(h))
	return append(d, make([]byte, part)...)
}

// vp8lHeader builds a VP8L header for w x h followed by a few payload bytes.
func vp8lHeader(w, h int) []byte {
	return binary.LittleEndian.AppendUint32([]byte{0x2f}, uint32(w-1)|uint32(h-1)<<14)
}

// webpAnimated builds an animated 10x6 WebP with n ANMF frames.
func webpAnimated(n int) []byte {
	vp8x := []byte{0x02, 0, 0, 0, 9, 0, 0, 5, 0, 0} // animation flag, 10x6
	chunks := [][]byte{chunk("VP8X", vp8x), chunk("ANIM", make([]byte, 6))}
	for range n {
		frame := make([]byte, 16) // offsets 0, size-1 0 (1x1), duration 0
		chunks = append(chunks, chunk("ANMF", frame, chunk("VP8L", vp8lHeader(1, 1), []byte{0, 0})))
	}
	return riff(chunks...)
}

// box builds an ISOBMFF box; fullbox one with version and flags.
func box(typ string, payload ...[]byte) []byte {
	body := bytes.Join(payload, nil)
	out := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
	return append(append(out, typ...), body...)
}

func fullbox(typ string, version byte, flags uint32, payload ...[]byte) []byte {
	vf := binary.BigEndian.AppendUint32(nil, uint32(version)<<24|flags)
	return box(typ, append([][]byte{vf}, payload...)...)
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// avifSpec varies the hand-made AVIF; the zero value is a valid 64x48 image
// with a 16x12 thumbnail property listed after it.
type avifSpec struct {
	brands     string // ftyp payload brands; default avif, mif1, miaf
	ispes      [][2]uint32
	primaryIdx byte // ipma association of item 1; 0: none
	noPitm     bool
	mdatSize0  bool      // mdat with size 0, "to end of file"
	extentPad  int       // added to the iloc extent length
	coded      [2]uint32 // the sequence header's size, if not the primary's ispe
}

// av1SequenceHeader is a sequence header OBU (with its size field) of a
// reduced still picture of w x h, 16 bits per dimension.
func av1SequenceHeader(w, h uint32) []byte {
	var bits []byte // one byte per bit, packed below
	put := func(v uint64, n int) {
		for i := n - 1; i >= 0; i-- {
			bits = append(bits, byte(v>>i&1))
		}
	}
	put(0, 3)  // seq_profile
	put(1, 1)  // still_picture
	put(1, 1)  // reduced_still_picture_header
	put(8, 5)  // seq_level_idx
	put(15, 4) // frame_width_bits_minus_1
	put(15, 4) // frame_height_bits_minus_1
	put(uint64(w-1), 16)
	put(uint64(h-1), 16)
	payload := make([]byte, (len(bits)+7)/8)
	for i, b := range bits {
		payload[i/8] |= b << (7 - i%8)
	}
	return append([]byte{obuSequenceHeader<<3 | 1<<1, byte(len(payload))}, payload...)
}

func makeAVIF(s avifSpec) []byte {
	if s.brands == "" {
		s.brands = "avif\x00\x00\x00\x00avifmif1miaf"
	}
	if s.ispes == nil {
		s.ispes, s.primaryIdx = [][2]uint32{{64, 48}, {16, 12}}, 1
	}
	// The coded stream declares the primary's size, as an encoder writes it.
	w, h := uint32(1), uint32(1)
	if s.primaryIdx > 0 {
		w, h = s.ispes[s.primaryIdx-1][0], s.ispes[s.primaryIdx-1][1]
	}
	if s.coded != [2]uint32{} {
		w, h = s.coded[0], s.coded[1]
	}
	payload := append(av1SequenceHeader(w, h), "fake frame OBU"...)
	var props [][]byte
	for _, e := range s.ispes {
		props = append(props, fullbox("ispe", 0, 0, u32(e[0]), u32(e[1])))
	}
	av1C := box("av1C", []byte{0x81, 0x00, 0x0C, 0x00}) // 8-bit 4:2:0, main profile
	props = append(props, av1C)
	ipma := fullbox("ipma", 0, 0, u32(1), u16(1), []byte{2, s.primaryIdx, 0x80 | byte(len(props))})
	meta := func(offset uint32) []byte {
		parts := [][]byte{fullbox("hdlr", 0, 0, make([]byte, 4), []byte("pict"), make([]byte, 13))}
		if !s.noPitm {
			parts = append(parts, fullbox("pitm", 0, 0, u16(1)))
		}
		iloc := fullbox("iloc", 0, 0, []byte{0x44, 0x00}, u16(1), // 4-byte offset and length, no base
			u16(1), u16(0), u16(1), u32(offset), u32(uint32(len(payload)+s.extentPad)))
		iinf := fullbox("iinf", 0, 0, u16(1), fullbox("infe", 2, 0, u16(1), u16(0), []byte("av01\x00")))
		parts = append(parts, iloc, iinf, box("iprp", box("ipco", props...), ipma))
		return fullbox("meta", 0, 0, parts...)
	}
	ftyp := box("ftyp", []byte(s.brands))
	offset := uint32(len(ftyp) + len(meta(0)) + 8)
	mdat := box("mdat", payload)
	if s.mdatSize0 {
		copy(mdat, u32(0))
	}
	return bytes.Join([][]byte{ftyp, meta(offset), mdat}, nil)
}

// fixCRC recomputes the CRC of the PNG chunk starting at off.
func fixCRC(b []byte, off int) {
	n := int(binary.BigEndian.Uint32(b[off:]))
	binary.BigEndian.PutUint32(b[off+8+n:], crc32.ChecksumIEEE(b[off+4:off+8+n]))
}

// pngChunkOffset returns the offset of the first chunk of type typ, or -1.
func pngChunkOffset(b []byte, typ string) int {
	for off := 8; off+8 <= len(b); off += 12 + int(binary.BigEndian.Uint32(b[off:])) {
		if string(b[off+4:off+8]) == typ {
			return off
		}
	}
	return -1
}
