package imagefmt

import (
	"errors"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// The container and the coded stream must agree: a file whose ispe claims
// less (or more) than its AV1 sequence header is damaged, whatever the
// sizes; an honest file's Decoded is its stream's pixels.
func TestAVIFCodedSize(t *testing.T) {
	honest := readTestdata(t, "real/black-8000.avif")
	info, err := Inspect(honest, AVIF)
	if err != nil || info.Width != 8000 || info.Height != 8000 || info.Decoded != 64_000_000 {
		t.Fatalf("honest 8000x8000: %+v %v", info, err)
	}
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"real stream, ispe claims 100x100", testimages.LyingAVIF(100, 100)},
		{"real stream, ispe claims 16000x16000", testimages.LyingAVIF(16000, 16000)},
		{"hand-made, stream 8000x8000 under ispe 64x48", makeAVIF(avifSpec{coded: [2]uint32{8000, 8000}})},
		{"hand-made, stream 32x48 under ispe 64x48", makeAVIF(avifSpec{coded: [2]uint32{32, 48}})},
	} {
		if _, err := Inspect(c.b, AVIF); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want corrupt", c.name, err)
		}
	}
	// HEIC: the HEVC parameter set against ispe, for the tile and the grid.
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"ispe claims 8000x8000 over a 64x64 tile", testimages.LyingHEIC(8000, 8000)},
		{"ispe claims 16x16", testimages.LyingHEIC(16, 16)},
	} {
		if _, err := Inspect(c.b, HEIC); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want corrupt", c.name, err)
		}
	}
}

func TestAV1SequenceHeader(t *testing.T) {
	for _, size := range [][2]uint32{{1, 1}, {64, 48}, {65536, 2}} {
		w, h, found, err := av1FrameSize(av1SequenceHeader(size[0], size[1]))
		if err != nil || !found || w != int(size[0]) || h != int(size[1]) {
			t.Errorf("%v: %dx%d found %v, %v", size, w, h, found, err)
		}
	}
	// Cut: an error, not a size.
	seq := av1SequenceHeader(64, 48)
	seq[1] = 2 // the OBU claims two bytes: the size fields are missing
	if _, _, _, err := av1FrameSize(seq[:4]); err == nil {
		t.Error("a cut sequence header was read")
	}
}
