package imagefmt

import (
	"bytes"
	"errors"
	"testing"
)

// gifFile builds a GIF89a of 2x2 with no global colour table around blocks.
func gifFile(blocks ...[]byte) []byte {
	head := []byte("GIF89a\x02\x00\x02\x00\x00\x00\x00")
	return append(head, bytes.Join(blocks, nil)...)
}

// gifFrame is an image descriptor with a 2-entry local colour table, LZW
// minimum code size lzw, and one data sub-block.
func gifFrame(lzw byte) []byte {
	d := []byte{0x2C, 0, 0, 0, 0, 2, 0, 2, 0, 0x80, 0, 0, 0, 255, 255, 255, lzw}
	return append(d, 2, 0x4C, 0x01, 0)
}

func TestCheckGIF(t *testing.T) {
	ext := []byte{0x21, 0xF9, 4, 0, 10, 0, 0, 0} // graphic control extension
	trailer := []byte{0x3B}
	screen := func(frames int) Info { return Info{Width: 2, Height: 2, Frames: frames} }
	tests := []struct {
		name string
		in   []byte
		want error // nil: valid, with info
		info Info
	}{
		{"one image", gifFile(gifFrame(2), trailer), nil, screen(1)},
		{"extension then two images", gifFile(ext, gifFrame(2), ext, gifFrame(8), trailer), nil, screen(2)},
		{"bytes after trailer", gifFile(gifFrame(2), trailer, []byte("junk")), nil, screen(1)},
		{"LZW code size 12", gifFile(gifFrame(12), trailer), nil, screen(1)},
		{"no image", gifFile(ext, trailer), ErrCorrupt, Info{}},
		{"unknown block", gifFile(gifFrame(2), []byte{0x00}, trailer), ErrCorrupt, Info{}},
		{"LZW code size 1", gifFile(gifFrame(1), trailer), ErrCorrupt, Info{}},
		{"LZW code size 13", gifFile(gifFrame(13), trailer), ErrCorrupt, Info{}},
		{"bad signature", append([]byte("GIF90a"), gifFile(gifFrame(2), trailer)[6:]...), ErrCorrupt, Info{}},
		{"missing trailer", gifFile(gifFrame(2)), ErrTruncated, Info{}},
		// A 9x7 frame at (1,2) needs a 10x9 canvas.
		{"frame larger than the screen", gifFile([]byte{0x2C, 1, 0, 2, 0, 9, 0, 7, 0, 0, 2, 2, 0x4C, 0x01, 0}, trailer),
			nil, Info{Width: 10, Height: 9, Frames: 1}},
		{"no pixels", append([]byte("GIF89a\x00\x00\x00\x00\x00\x00\x00"), 0x2C, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3B), ErrCorrupt, Info{}},
		{"global colour table cut", []byte("GIF89a\x02\x00\x02\x00\x87\x00\x00\x00\x00\x00"), ErrTruncated, Info{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Inspect(tt.in, GIF)
			if tt.want == nil {
				if err != nil || info != tt.info {
					t.Errorf("Inspect = %+v, %v; want %+v", info, err, tt.info)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Inspect = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestInspectGIFManyFrames(t *testing.T) {
	info, err := Inspect(makeGIF(t, 3000, 1, 1), GIF)
	if err != nil || info.Frames != 3000 {
		t.Errorf("Inspect = %+v, %v; want 3000 frames", info, err)
	}
}
