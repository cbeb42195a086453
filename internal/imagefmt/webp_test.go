package imagefmt

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestCheckWebP(t *testing.T) {
	vp8 := func(edit func(d []byte)) []byte {
		d := vp8KeyFrame(30, 20)
		edit(d)
		return riff(chunk("VP8 ", d))
	}
	vp8l := chunk("VP8L", vp8lHeader(3, 2), []byte{0})
	anim := func(n int) []byte { return webpAnimated(n) }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"lossless", riff(vp8l), nil},
		{"bytes after RIFF", append(riff(vp8l), "junk"...), nil},
		{"odd last chunk without pad", unpadded(riff(chunk("VP8L", vp8lHeader(3, 2)))), nil},
		{"metadata after image", riff(vp8l, chunk("EXIF", []byte("II*\x00"))), nil},
		{"RIFF size below 4", append([]byte("RIFF\x02\x00\x00\x00WEBP"), vp8l...), ErrCorrupt},
		{"RIFF size beyond file", riff(vp8l)[:len(riff(vp8l))-1], ErrTruncated},
		{"not WEBP", append([]byte("RIFF\x04\x00\x00\x00WAVE"), vp8l...), ErrCorrupt},
		{"no chunks", riff(), ErrCorrupt},
		{"first chunk unknown", riff(chunk("EXIF", []byte("x")), vp8l), ErrCorrupt},
		{"chunk past RIFF end", riff(vp8l, []byte("ALPH\xff\x00\x00\x00")), ErrCorrupt},
		{"stray bytes at RIFF end", riff(vp8l, []byte("ABC")), ErrCorrupt},
		{"VP8 inter frame", vp8(func(d []byte) { d[0] |= 1 }), ErrCorrupt},
		{"VP8 version 4", vp8(func(d []byte) { d[0] |= 4 << 1 }), ErrCorrupt},
		{"VP8 hidden frame", vp8(func(d []byte) { d[0] &^= 1 << 4 }), ErrCorrupt},
		{"VP8 start code", vp8(func(d []byte) { d[3] = 0 }), ErrCorrupt},
		{"VP8 partition past chunk", vp8(func(d []byte) { d[1] = 0xFF }), ErrCorrupt},
		{"VP8 width zero", vp8(func(d []byte) { d[6], d[7] = 0, 0xC0 }), ErrCorrupt},
		{"VP8 header short", riff(chunk("VP8 ", vp8KeyFrame(30, 20)[:9])), ErrCorrupt},
		{"VP8L signature", riff(chunk("VP8L", []byte{0x2e, 0, 0, 0, 0})), ErrCorrupt},
		{"VP8L version 1", riff(chunk("VP8L", binary.LittleEndian.AppendUint32([]byte{0x2f}, 1<<29))), ErrCorrupt},
		{"VP8X without image", riff(chunk("VP8X", make([]byte, 10))), ErrCorrupt},
		{"VP8X short", riff(chunk("VP8X", make([]byte, 9))), ErrCorrupt},
		{"animation without frames", anim(0), ErrCorrupt},
		{"ANMF without ANIM", riff(chunk("VP8X", []byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
			chunk("ANMF", make([]byte, 16), vp8l)), ErrCorrupt},
		{"ANMF without VP8X animation flag", riff(chunk("VP8X", make([]byte, 10)), vp8l,
			chunk("ANIM", make([]byte, 6)), chunk("ANMF", make([]byte, 16), vp8l)), ErrCorrupt},
		{"ANMF without image", riff(chunk("VP8X", []byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
			chunk("ANIM", make([]byte, 6)), chunk("ANMF", make([]byte, 16))), ErrCorrupt},
		{"ANMF with a bad image", riff(chunk("VP8X", []byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
			chunk("ANIM", make([]byte, 6)), chunk("ANMF", make([]byte, 16), chunk("VP8L", []byte{1, 2, 3, 4, 5}))), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.in, WebP)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Check = %v, want %v", err, tt.want)
			}
		})
	}
}

// A still image's VP8X canvas must be its bitstream's size, as libwebp
// requires: a canvas that claims less than the bitstream (or more) is a
// lie about the pixels the decoder allocates.
func TestInspectWebPCanvas(t *testing.T) {
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"canvas larger", riff(chunk("VP8X", []byte{0, 0, 0, 0, 0x3F, 0x1F, 0, 0xFF, 0x0F, 0}), chunk("VP8L", vp8lHeader(5, 5))), ErrCorrupt},
		{"canvas smaller", riff(chunk("VP8X", []byte{0, 0, 0, 0, 4, 0, 0, 4, 0, 0}), chunk("VP8 ", vp8KeyFrame(16383, 16383))), ErrCorrupt},
		{"animation frame outside the canvas", riff(chunk("VP8X", []byte{0x02, 0, 0, 0, 9, 0, 0, 5, 0, 0}),
			chunk("ANIM", make([]byte, 6)), chunk("ANMF", []byte{0, 0, 0, 0, 0, 0, 0x3F, 0x1F, 0, 0, 0, 0, 0, 0, 0, 0},
				chunk("VP8L", vp8lHeader(8000, 1), []byte{0, 0}))), ErrCorrupt},
		{"animation bitstream larger than its frame", riff(chunk("VP8X", []byte{0x02, 0, 0, 0, 9, 0, 0, 5, 0, 0}),
			chunk("ANIM", make([]byte, 6)), chunk("ANMF", make([]byte, 16), chunk("VP8L", vp8lHeader(8000, 8000), []byte{0, 0}))), ErrCorrupt},
		{"canvas equal", riff(chunk("VP8X", []byte{0, 0, 0, 0, 4, 0, 0, 4, 0, 0}), chunk("VP8L", vp8lHeader(5, 5))), nil},
	} {
		info, err := Inspect(c.b, WebP)
		if c.want == nil && (err != nil || info != Info{Width: 5, Height: 5, Frames: 1}) || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: Inspect = %+v, %v; want %v", c.name, info, err, c.want)
		}
	}
}

// unpadded drops the pad byte after the last chunk and fixes the RIFF size.
func unpadded(b []byte) []byte {
	b = b[:len(b)-1]
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}
