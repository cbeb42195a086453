package imagefmt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
)

// pngChunk builds a PNG chunk with a correct CRC.
func pngChunk(typ string, data ...byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	out = append(append(out, typ...), data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[4:]))
}

// ihdr builds the IHDR of a w x h image.
func ihdr(w, h uint32, depth, colour byte) []byte {
	d := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, w), h)
	return pngChunk("IHDR", append(d, depth, colour, 0, 0, 0)...)
}

func pngFile(chunks ...[]byte) []byte {
	return append([]byte(pngSignature), bytes.Join(chunks, nil)...)
}

func TestCheckPNG(t *testing.T) {
	idat := pngChunk("IDAT", 0x78, 0x9c, 0x63, 0, 0, 0, 0x02, 0, 0x01) // not decoded
	iend := pngChunk("IEND")
	grey := ihdr(1, 1, 8, 0)
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"minimal", pngFile(grey, idat, iend), nil},
		{"data after IEND", append(pngFile(grey, idat, iend), "trailer"...), nil},
		{"empty IDAT among others", pngFile(grey, pngChunk("IDAT"), idat, iend), nil},
		{"unknown ancillary chunk", pngFile(grey, pngChunk("ruSt", 1, 2, 3), idat, iend), nil},
		{"palette image", pngFile(ihdr(1, 1, 8, 3), pngChunk("PLTE", 0, 0, 0), idat, iend), nil},
		{"ignored PLTE in greyscale", pngFile(grey, pngChunk("PLTE", 0, 0), idat, iend), nil},
		{"missing IEND", pngFile(grey, idat), ErrTruncated},
		{"no IDAT", pngFile(grey, iend), ErrCorrupt},
		{"IHDR not first", pngFile(pngChunk("tEXt", 'a', 0), grey, idat, iend), ErrCorrupt},
		{"second IHDR", pngFile(grey, grey, idat, iend), ErrCorrupt},
		{"IHDR length 12", pngFile(pngChunk("IHDR", make([]byte, 12)...), idat, iend), ErrCorrupt},
		{"width zero", pngFile(ihdr(0, 1, 8, 0), idat, iend), ErrCorrupt},
		{"height above 2^31-1", pngFile(ihdr(1, 1<<31, 8, 0), idat, iend), ErrCorrupt},
		{"truecolour depth 4", pngFile(ihdr(1, 1, 4, 2), idat, iend), ErrCorrupt},
		{"palette depth 16", pngFile(ihdr(1, 1, 16, 3), idat, iend), ErrCorrupt},
		{"interlace method 2", pngFile(pngChunk("IHDR", 0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 2), idat, iend), ErrCorrupt},
		{"palette image without PLTE", pngFile(ihdr(1, 1, 8, 3), idat, iend), ErrCorrupt},
		{"PLTE after IDAT", pngFile(ihdr(1, 1, 8, 3), idat, pngChunk("PLTE", 0, 0, 0), iend), ErrCorrupt},
		{"PLTE length 4", pngFile(ihdr(1, 1, 8, 3), pngChunk("PLTE", 0, 0, 0, 0), idat, iend), ErrCorrupt},
		{"unknown critical chunk", pngFile(grey, pngChunk("RUST"), idat, iend), ErrCorrupt},
		{"chunk type with a digit", pngFile(grey, pngChunk("ID4T"), idat, iend), ErrCorrupt},
		{"chunk length above 2^31-1", pngFile(grey, []byte{0x80, 0, 0, 0, 'I', 'D', 'A', 'T'}), ErrCorrupt},
		{"chunk past end of file", pngFile(grey, idat[:len(idat)-1]), ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.in, PNG)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Check = %v, want %v", err, tt.want)
			}
		})
	}
}

// A flipped bit anywhere in IDAT fails the chunk's CRC.
func TestCheckPNGFlippedIDATByte(t *testing.T) {
	orig := makePNG(t, 40, 30)
	off := pngChunkOffset(orig, "IDAT")
	n := int(binary.BigEndian.Uint32(orig[off:]))
	for _, i := range []int{0, n / 2, n - 1} {
		b := bytes.Clone(orig)
		b[off+8+i] ^= 0x10
		if err := Check(b, PNG); !errors.Is(err, ErrCorrupt) {
			t.Errorf("IDAT byte %d flipped: Check = %v, want ErrCorrupt", i, err)
		}
	}
}

// A header may declare any size: Check judges structure, and Inspect reports
// the declared size so the caller can refuse it by pixel count.
func TestInspectPNGHugeDimensions(t *testing.T) {
	b := makePNG(t, 4, 4)
	off := pngChunkOffset(b, "IHDR")
	binary.BigEndian.PutUint32(b[off+8:], 50000)
	binary.BigEndian.PutUint32(b[off+12:], 50000)
	fixCRC(b, off)
	info, err := Inspect(b, PNG)
	if err != nil || info.Width != 50000 || info.Height != 50000 {
		t.Errorf("Inspect = %+v, %v; want 50000x50000", info, err)
	}
	if err := Check(b[:len(b)-12], PNG); !errors.Is(err, ErrTruncated) {
		t.Errorf("without IEND: Check = %v, want ErrTruncated", err)
	}
}
