package imagefmt

import (
	"bytes"
	"errors"
	"testing"
)

// seg builds a JPEG marker segment with its length.
func seg(marker byte, payload ...byte) []byte {
	n := len(payload) + 2
	return append([]byte{0xFF, marker, byte(n >> 8), byte(n)}, payload...)
}

// jpegParts are the pieces of a minimal, structurally valid 16x8 JPEG. The
// scan data is not decodable; the check does not decode.
type jpegParts struct{ soi, app, sof, sos, scan, eoi []byte }

func minimalJPEG() jpegParts {
	return jpegParts{
		soi:  []byte{0xFF, 0xD8},
		app:  seg(0xE0, []byte("JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x00\x00")...),
		sof:  seg(0xC0, 8, 0, 8, 0, 16, 1, 1, 0x11, 0),
		sos:  seg(0xDA, 1, 1, 0x00, 0, 63, 0),
		scan: []byte{0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xFF},
		eoi:  []byte{0xFF, 0xD9},
	}
}

func (p jpegParts) join() []byte {
	return bytes.Join([][]byte{p.soi, p.app, p.sof, p.sos, p.scan, p.eoi}, nil)
}

func TestCheckJPEG(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(p *jpegParts)
		want   error
		height int
	}{
		{"minimal", func(p *jpegParts) {}, nil, 8},
		{"trailing bytes after EOI", func(p *jpegParts) { p.eoi = append(p.eoi, "camera data"...) }, nil, 8},
		{"fill bytes before a marker", func(p *jpegParts) { p.sof = append([]byte{0xFF, 0xFF}, p.sof...) }, nil, 8},
		{"second progressive scan", func(p *jpegParts) { p.scan = append(p.scan, append(p.sos, 0x42)...) }, nil, 8},
		{"height zero", func(p *jpegParts) { p.sof[5], p.sof[6] = 0, 0 }, nil, 0},
		{"height from DNL", func(p *jpegParts) {
			p.sof[5], p.sof[6] = 0, 0
			p.scan = append(p.scan, seg(0xDC, 0x01, 0x2C)...)
		}, nil, 300},
		{"missing EOI", func(p *jpegParts) { p.eoi = nil }, ErrTruncated, 0},
		{"zero padding instead of EOI", func(p *jpegParts) { p.eoi = make([]byte, 100) }, ErrTruncated, 0},
		{"width zero", func(p *jpegParts) { p.sof[7], p.sof[8] = 0, 0 }, ErrCorrupt, 0},
		{"no SOI", func(p *jpegParts) { p.soi = []byte{0xFF, 0xD9} }, ErrCorrupt, 0},
		{"no frame header", func(p *jpegParts) { p.sof = nil }, ErrCorrupt, 0},
		{"no scan", func(p *jpegParts) { p.sos, p.scan = nil, nil }, ErrCorrupt, 0},
		{"tables only", func(p *jpegParts) { p.sof, p.sos, p.scan = nil, nil, nil }, ErrCorrupt, 0},
		{"two frame headers", func(p *jpegParts) { p.sof = append(p.sof, p.sof...) }, ErrCorrupt, 0},
		{"frame header component count wrong", func(p *jpegParts) { p.sof[9] = 2 }, ErrCorrupt, 0},
		{"scan header component count wrong", func(p *jpegParts) { p.sos[4] = 5 }, ErrCorrupt, 0},
		// libjpeg skips stray bytes between segments and decodes the image.
		{"stray bytes between segments", func(p *jpegParts) { p.app = append(p.app, 0x00, 0x17, 0xFF, 0x00) }, nil, 8},
		{"segment length below 2", func(p *jpegParts) { p.app = []byte{0xFF, 0xE1, 0x00, 0x01} }, ErrCorrupt, 0},
		{"SOI inside the image", func(p *jpegParts) { p.app = append(p.app, 0xFF, 0xD8) }, ErrCorrupt, 0},
		{"segment longer than the file", func(p *jpegParts) { p.app[3] = 0xFF }, ErrTruncated, 0},
		{"bad DNL", func(p *jpegParts) { p.scan = append(p.scan, seg(0xDC, 0, 0)...) }, ErrCorrupt, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := minimalJPEG()
			tt.edit(&p)
			info, err := Inspect(p.join(), JPEG)
			if tt.want == nil {
				if err != nil || info != (Info{Width: 16, Height: tt.height, Frames: 1}) {
					t.Errorf("Inspect = %+v, %v; want 16x%d", info, err, tt.height)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Inspect = %v, want %v", err, tt.want)
			}
		})
	}
}

// The fixture with restart markers must really contain them, or the test
// that it passes proves nothing.
func TestRestartFixtureHasRST(t *testing.T) {
	b := readTestdata(t, "real/restart.jpg")
	if !bytes.Contains(b, []byte{0xFF, 0xD0}) || !bytes.Contains(b, []byte{0xFF, 0xDD}) {
		t.Fatal("restart.jpg has no DRI segment or RST0 marker")
	}
}
