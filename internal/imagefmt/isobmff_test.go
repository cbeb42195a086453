package imagefmt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestInspectAVIFSize(t *testing.T) {
	tests := []struct {
		name string
		spec avifSpec
		w, h int
	}{
		{"primary first", avifSpec{}, 64, 48},
		{"primary after thumbnail", avifSpec{ispes: [][2]uint32{{16, 12}, {64, 48}}, primaryIdx: 2}, 64, 48},
		// A grid's tiles may be larger than the cropped image: the
		// primary item's ispe wins over the largest.
		{"grid tile larger than image", avifSpec{ispes: [][2]uint32{{64, 64}, {32, 24}}, primaryIdx: 2}, 32, 24},
		{"no pitm: largest", avifSpec{ispes: [][2]uint32{{64, 48}, {80, 60}}, primaryIdx: 1, noPitm: true}, 80, 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			coded := [2]uint32{64, 48} // item 1's, whether primary or not
			if tt.spec.ispes != nil {
				coded = tt.spec.ispes[tt.spec.primaryIdx-1]
			}
			info, err := Inspect(makeAVIF(tt.spec), AVIF)
			want := Info{Width: tt.w, Height: tt.h, Frames: 1, Decoded: int64(coded[0]) * int64(coded[1])}
			if err != nil || info != want {
				t.Errorf("Inspect = %+v, %v; want %+v", info, err, want)
			}
		})
	}
}

// libvips writes HEIC as a grid of 64x64 tiles cropped to 32x24. The walk
// finds the grid's size, and the tile's from its HEVC parameter set.
func TestHEICGridPrimarySize(t *testing.T) {
	info, err := inspectISOBMFF(readTestdata(t, "real/photo.heic"), HEIC)
	if want := (Info{Width: 32, Height: 24, Frames: 1, Decoded: 64 * 64}); err != nil || info != want {
		t.Errorf("inspectISOBMFF = %+v, %v; want %+v", info, err, want)
	}
}

// shiftData moves the item data offset in the hand-made AVIF's meta box
// by n bytes, for a file whose mdat header grew by n.
func shiftData(meta []byte, n uint32) []byte {
	m := bytes.Clone(meta)
	at := bytes.Index(m, []byte("iloc")) + 4 + 4 + 2 + 2 + 2 + 2 + 2
	binary.BigEndian.PutUint32(m[at:], binary.BigEndian.Uint32(m[at:])+n)
	return m
}

func TestCheckISOBMFF(t *testing.T) {
	valid := makeAVIF(avifSpec{})
	ftyp, rest := valid[:28], valid[28:]
	metaAt := bytes.Index(valid, []byte("meta")) - 4
	mdatAt := bytes.Index(valid, []byte("mdat")) - 4
	meta, mdat := valid[metaAt:mdatAt], valid[mdatAt:]
	edit := func(b []byte, old, new string) []byte {
		return bytes.Replace(bytes.Clone(b), []byte(old), []byte(new), 1)
	}
	largeMdat := append(append(u32(1), "mdat"...), binary.BigEndian.AppendUint64(nil, uint64(len(mdat)+8))...)
	largeMdat = append(largeMdat, mdat[8:]...)
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	// withMeta swaps in a meta box built from the given children.
	withMeta := func(children ...[]byte) []byte {
		return join(ftyp, fullbox("meta", 0, 0, children...), mdat)
	}
	iinf := fullbox("iinf", 0, 0, u16(0))
	iprp := box("iprp", box("ipco", fullbox("ispe", 0, 0, u32(8), u32(8))))
	tests := []struct {
		name   string
		in     []byte
		format Format
		want   error
	}{
		{"valid", valid, AVIF, nil},
		{"mdat with 64-bit size", join(ftyp, shiftData(meta, 8), largeMdat), AVIF, nil},
		{"mdat size 0, to end of file", makeAVIF(avifSpec{mdatSize0: true}), AVIF, nil},
		{"free box at end", join(valid, box("free")), AVIF, nil},
		{"AVIF checked as HEIC", valid, HEIC, ErrCorrupt},
		{"brand heic", join(edit(ftyp, "avif\x00\x00\x00\x00avif", "heic\x00\x00\x00\x00heic"), rest), AVIF, ErrCorrupt},
		{"first box not ftyp", join(box("free"), valid), AVIF, ErrCorrupt},
		{"second ftyp", join(ftyp, ftyp, rest), AVIF, ErrCorrupt},
		{"second meta", join(ftyp, meta, meta, mdat), AVIF, ErrCorrupt},
		{"no meta", join(ftyp, mdat), AVIF, ErrTruncated},
		{"no mdat", join(ftyp, meta), AVIF, ErrTruncated},
		{"box size below header", join(ftyp, u32(7), []byte("free"), rest), AVIF, ErrCorrupt},
		{"item data past end of file", makeAVIF(avifSpec{extentPad: 1}), AVIF, ErrTruncated},
		{"meta without version", join(ftyp, box("meta"), mdat), AVIF, ErrCorrupt},
		{"meta child past meta", join(ftyp, fullbox("meta", 0, 0, u32(100), []byte("iloc")), mdat), AVIF, ErrCorrupt},
		{"no iloc", withMeta(iinf, iprp), AVIF, ErrCorrupt},
		{"no iinf", withMeta(fullbox("iloc", 0, 0, []byte{0, 0}, u16(0)), iprp), AVIF, ErrCorrupt},
		{"no ispe", withMeta(fullbox("iloc", 0, 0, []byte{0, 0}, u16(0)), iinf, box("iprp", box("ipco"))), AVIF, ErrCorrupt},
		{"ispe zero", makeAVIF(avifSpec{ispes: [][2]uint32{{0, 48}}, primaryIdx: 1}), AVIF, ErrCorrupt},
		{"ispe short", withMeta(fullbox("iloc", 0, 0, []byte{0, 0}, u16(0)), iinf,
			box("iprp", box("ipco", fullbox("ispe", 0, 0, u32(8))))), AVIF, ErrCorrupt},
		{"iloc version 3", withMeta(fullbox("iloc", 3, 0, []byte{0, 0}, u16(0)), iinf, iprp), AVIF, ErrCorrupt},
		{"iloc field size 2", withMeta(fullbox("iloc", 0, 0, []byte{0x24, 0}, u16(0)), iinf, iprp), AVIF, ErrCorrupt},
		{"iloc items past box", withMeta(fullbox("iloc", 0, 0, []byte{0x44, 0}, u16(1), u16(1)), iinf, iprp), AVIF, ErrCorrupt},
		{"iloc idat extent past idat", withMeta(box("idat", []byte{1, 2}),
			fullbox("iloc", 1, 0, []byte{0x44, 0}, u16(1), u16(1), u16(1), u16(0), u16(1), u32(0), u32(3)), iinf, iprp), AVIF, ErrCorrupt},
		{"iloc idat extent inside idat", withMeta(box("idat", []byte{1, 2, 3}),
			fullbox("iloc", 1, 0, []byte{0x44, 0}, u16(1), u16(1), u16(1), u16(0), u16(1), u32(0), u32(3)), iinf, iprp), AVIF, nil},
		{"iloc extent overflows", withMeta(fullbox("iloc", 0, 0, []byte{0x88, 0x80}, u16(1), u16(1), u16(0),
			binary.BigEndian.AppendUint64(nil, 1<<63), u16(1), binary.BigEndian.AppendUint64(nil, 1<<63),
			binary.BigEndian.AppendUint64(nil, 1)), iinf, iprp), AVIF, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.in, tt.format)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Check = %v, want %v", err, tt.want)
			}
		})
	}
}
