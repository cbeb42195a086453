package imagefmt

import (
	"errors"
	"testing"
)

func TestInspectValid(t *testing.T) {
	for _, fx := range validFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			info, err := Inspect(fx.data, fx.format)
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			if info != fx.info {
				t.Errorf("Inspect = %+v, want %+v", info, fx.info)
			}
			if err := Check(fx.data, fx.format); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

// Every proper prefix of a file of the formats with a real structure check is
// a truncated file: the check must say so, and never call it corrupt (which a
// server might report differently) or accept it.
func TestCheckEveryPrefixIsTruncated(t *testing.T) {
	fixtures := append(validFixtures(t),
		fixture{name: "avif/hand-mdat-size-0", data: makeAVIF(avifSpec{mdatSize0: true}), format: AVIF})
	for _, fx := range fixtures {
		switch fx.format {
		case TIFF, BMP, SVG:
			continue // magic-only checks; see TestCheckShallow
		case JXL:
			if string(fx.data[:2]) == jxlCodestreamMagic {
				continue // no end mark; see TestJXLStructure
			}
		}
		t.Run(fx.name, func(t *testing.T) {
			for n := range len(fx.data) {
				if err := Check(fx.data[:n], fx.format); !errors.Is(err, ErrTruncated) {
					t.Fatalf("Check(first %d of %d bytes) = %v, want ErrTruncated", n, len(fx.data), err)
				}
			}
		})
	}
}

func TestCheckEmpty(t *testing.T) {
	for f := JPEG; f <= JXL; f++ {
		t.Run(f.String(), func(t *testing.T) {
			if err := Check(nil, f); !errors.Is(err, ErrTruncated) {
				t.Errorf("Check(nil) = %v, want ErrTruncated", err)
			}
		})
	}
}

func TestCheckUnknownFormat(t *testing.T) {
	tests := []struct {
		name string
		f    Format
		in   []byte
	}{
		{"unknown, empty", Unknown, nil},
		{"unknown, a png", Unknown, makePNG(t, 2, 2)},
		{"out of range", Format(99), makePNG(t, 2, 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Inspect(tt.in, tt.f)
			if !errors.Is(err, ErrCorrupt) || info != (Info{}) {
				t.Errorf("Inspect = %+v, %v; want zero Info and ErrCorrupt", info, err)
			}
		})
	}
}

// A valid file of one format checked as another must fail, and Check must
// agree with Sniff: it accepts a file only as the format Sniff names.
func TestCheckWrongFormat(t *testing.T) {
	for _, fx := range validFixtures(t) {
		for f := JPEG; f <= JXL; f++ {
			if f == fx.format {
				continue
			}
			err := Check(fx.data, f)
			if err == nil || !(errors.Is(err, ErrCorrupt) || errors.Is(err, ErrTruncated)) {
				t.Errorf("%s checked as %v: %v, want an error of a known kind", fx.name, f, err)
			}
		}
	}
}

// Check runs on every origin fetch; on a valid file it must not allocate.
func TestCheckDoesNotAllocate(t *testing.T) {
	for _, fx := range validFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(10, func() { _ = Check(fx.data, fx.format) }); n != 0 {
				t.Errorf("Check allocates %v times", n)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	b := makePNG(t, 4, 4)
	b[pngChunkOffset(b, "IDAT")+9] ^= 0xFF
	const want = "image is corrupt: png: chunk IDAT: bad CRC"
	if err := Check(b, PNG); err == nil || err.Error() != want {
		t.Errorf("Check = %v, want %q", err, want)
	}
}
