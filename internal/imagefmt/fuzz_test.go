package imagefmt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/testimages"
)

// addSeeds seeds a fuzz target with every valid fixture and a few PngSuite
// files, so mutations start from real structure.
func addSeeds(f *testing.F) {
	for _, fx := range validFixtures(f) {
		f.Add(fx.data)
	}
	for _, name := range []string{"basn3p08.png", "ctzn0g04.png", "oi9n2c16.png", "xcsn0g01.png"} {
		f.Add(readTestdata(f, filepath.Join("pngsuite", name)))
	}
}

// metadataSeeds are sources with large and malformed EXIF and XMP blocks:
// a 60 KB APP1, IFD offsets past the end, an entry count that overruns,
// XMP split across chunks, orientation tags of the wrong type.
func metadataSeeds(t testing.TB) [][]byte {
	jpg := makeJPEG(t, 8, 8, false)
	withAPP1 := func(payload []byte) []byte {
		return append(append([]byte{0xFF, 0xD8}, seg(0xE1, payload...)...), jpg[2:]...)
	}
	big := append([]byte("Exif\x00\x00"), tiffWith(6, binary.BigEndian)...)
	big = append(big, bytes.Repeat([]byte("X"), 60000)...)
	badOffset := append([]byte("Exif\x00\x00II*\x00"), 0xF0, 0xFF, 0xFF, 0x7F)
	overrun := append([]byte("Exif\x00\x00MM\x00*\x00\x00\x00\x08"), 0xFF, 0xFF, 0x01, 0x12)
	wrongType := tiffWith(6, binary.LittleEndian)
	wrongType[8+2+2] = 4 // Orientation as a LONG
	return [][]byte{
		leakyJPEG(t, 1), leakyJPEG(t, 6), leakyPNG(1), leakyPNG(6), leakyWebP(1), leakyWebP(8), leakyGIF(t),
		withAPP1(big), withAPP1(badOffset), withAPP1(overrun), withAPP1(append([]byte("Exif\x00\x00"), wrongType...)),
		withAPP1(append([]byte("http://ns.adobe.com/xap/1.0/\x00"), bytes.Repeat([]byte("<x:xmpmeta>"), 5000)...)),
		avifWithItem("Exif"), avifWithItem("mime"),
	}
}

// FuzzCheck: for every format, Inspect never panics or hangs, Check agrees
// with it, every error has exactly one kind, a failed Inspect returns no
// Info, and a file Check accepts is one Sniff names that format. Sniff is
// fuzzed here too rather than in a target of its own: it is so cheap that the
// fuzzer spends a separate target's time minimising inputs, not running them.
func FuzzCheck(f *testing.F) {
	addSeeds(f)
	for _, b := range metadataSeeds(f) {
		f.Add(b)
	}
	// The bad inputs of the newer sources: headers that lie, animations
	// at and past their limits, a cut animation.
	anim := testimages.QuadrantAnimation(80, 60, 0)
	for _, b := range [][]byte{
		testimages.LyingHEIC(8000, 8000), testimages.LyingAVIF(100, 100), testimages.GIFFrames(6000, 6000, 3),
		testimages.GIFFrameBeyondScreen(9000, 9000), anim, anim[:len(anim)*2/3], testimages.JXLBomb(50000, 40000),
	} {
		f.Add(b)
	}
	f.Add([]byte("\xEF\xBB\xBF<?xml version='1.0'?><!DOCTYPE svg [<!ENTITY x '>'>]><!-- c --><svg/>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sniffed := Sniff(b)
		if sniffed > JXL {
			t.Fatalf("Sniff = %d, not a listed format", sniffed)
		}
		if len(b) > sniffLimit && Sniff(b[:sniffLimit]) != sniffed {
			t.Fatalf("Sniff = %v, but %v on the first 4 KiB", sniffed, Sniff(b[:sniffLimit]))
		}
		for format := Unknown; format <= JXL+1; format++ {
			info, err := Inspect(b, format)
			if (Check(b, format) == nil) != (err == nil) {
				t.Fatalf("%v: Check and Inspect disagree (Inspect: %v)", format, err)
			}
			if err != nil {
				if errors.Is(err, ErrTruncated) == errors.Is(err, ErrCorrupt) {
					t.Fatalf("%v: error with no or both kinds: %v", format, err)
				}
				if info != (Info{}) {
					t.Fatalf("%v: error %v with Info %+v", format, err, info)
				}
				continue
			}
			if sniffed != format {
				t.Fatalf("Check accepts the file as %v, Sniff says %v", format, sniffed)
			}
			// What StripMetadata returns is still a valid file of the
			// same size and frame count.
			if out, ok := StripMetadata(b, format); ok {
				if after, err := Inspect(out, format); err != nil || after != info {
					t.Fatalf("%v: stripped file %+v %v, was %+v", format, after, err, info)
				}
			}
			if info.Width < 0 || info.Height < 0 || info.Frames < 0 {
				t.Fatalf("%v: negative Info %+v", format, info)
			}
			if format <= AVIF && (info.Width == 0 || info.Frames == 0) {
				t.Fatalf("%v: accepted with Info %+v", format, info)
			}
		}
	})
}

// FuzzHeader: the header reader sign --from-origin trusts on bytes from
// an origin never panics or hangs, gives a positive size and an
// orientation from 1 to 8 when it succeeds, wraps one of its error kinds
// when it fails, and agrees with Inspect on every file Inspect accepts
// (EXIF orientation 5 to 8 swaps the sides).
func FuzzHeader(f *testing.F) {
	addSeeds(f)
	for _, b := range metadataSeeds(f) {
		f.Add(b)
	}
	f.Add(testimages.LyingHEIC(8000, 8000))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := HeaderOf(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNotImage) {
				t.Fatalf("error of no kind: %v", err)
			}
			return
		}
		if h.Width <= 0 || h.Height <= 0 || h.Orientation < 1 || h.Orientation > 8 {
			t.Fatalf("header %+v", h)
		}
		info, ierr := Inspect(b, h.Format)
		if ierr != nil || info.Width == 0 || h.Format == GIF || h.Format == AVIF || h.Format == HEIC {
			return // not a whole valid file, or a size the two define differently
		}
		w, hh := info.Width, info.Height
		if h.Orientation >= 5 {
			w, hh = hh, w
		}
		if h.Width != w || h.Height != hh {
			t.Fatalf("%v: header says %dx%d, Inspect %dx%d (orientation %d)", h.Format, h.Width, h.Height, info.Width, info.Height, h.Orientation)
		}
	})
}
