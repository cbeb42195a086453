package imagefmt

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// pngSuiteSize returns the size PngSuite encodes in a file name: sNN files
// are NN pixels square, the cdXn files test pixel aspect on non-square
// images, and everything else is 32x32.
func pngSuiteSize(t *testing.T, name string) (w, h int) {
	switch {
	case strings.HasPrefix(name, "cdf"):
		return 8, 32
	case strings.HasPrefix(name, "cdh"):
		return 32, 8
	case strings.HasPrefix(name, "cds"):
		return 8, 8
	case name[0] == 's':
		n, err := strconv.Atoi(name[1:3])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return n, n
	}
	return 32, 32
}

func TestPngSuiteValid(t *testing.T) {
	files, err := filepath.Glob("testdata/pngsuite/[^x]*.png")
	if err != nil || len(files) < 150 {
		t.Fatalf("found %d valid PngSuite files (%v), want the whole suite", len(files), err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if f := Sniff(b); f != PNG {
				t.Errorf("Sniff = %v", f)
			}
			w, h := pngSuiteSize(t, name)
			info, err := Inspect(b, PNG)
			if err != nil || info != (Info{Width: w, Height: h, Frames: 1}) {
				t.Errorf("Inspect = %+v, %v; want %dx%d", info, err, w, h)
			}
		})
	}
}

func TestPngSuiteCorrupt(t *testing.T) {
	tests := []struct {
		file   string
		damage string // from PngSuite's description
		reason string // what the error must mention
	}{
		{"xs1n0g01.png", "signature byte 1 MSBit reset to zero", "bad signature"},
		{"xs2n0g01.png", "signature byte 2 is a 'Q'", "bad signature"},
		{"xs4n0g01.png", "signature byte 4 lowercase", "bad signature"},
		{"xs7n0g01.png", "7th byte a space instead of control-Z", "bad signature"},
		{"xcrn0g04.png", "added cr bytes", "bad signature"},
		{"xlfn0g04.png", "added lf bytes", "bad signature"},
		{"xhdn0g08.png", "incorrect IHDR checksum", "IHDR: bad CRC"},
		{"xc1n0g08.png", "color type 1", "colour type 1"},
		{"xc9n2c08.png", "color type 9", "colour type 9"},
		{"xd0n2c08.png", "bit-depth 0", "bit depth 0"},
		{"xd3n2c08.png", "bit-depth 3", "bit depth 3"},
		{"xd9n2c08.png", "bit-depth 99", "bit depth 99"},
		{"xdtn0g01.png", "missing IDAT chunk", "no IDAT"},
		{"xcsn0g01.png", "incorrect IDAT checksum", "IDAT: bad CRC"},
	}
	files, _ := filepath.Glob("testdata/pngsuite/x*.png")
	if len(files) != len(tests) {
		t.Fatalf("found %d corrupt PngSuite files, the table has %d", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := readTestdata(t, filepath.Join("pngsuite", tt.file))
			err := Check(b, PNG)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("%s: Check = %v, want ErrCorrupt mentioning %q", tt.damage, err, tt.reason)
			}
			if tt.reason == "bad signature" && Sniff(b) != Unknown {
				t.Errorf("%s: Sniff = %v, want Unknown", tt.damage, Sniff(b))
			}
		})
	}
}
