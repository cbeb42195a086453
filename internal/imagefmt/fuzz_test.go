package imagefmt

import (
	"errors"
	"path/filepath"
	"testing"
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

// FuzzCheck: for every format, Inspect never panics or hangs, Check agrees
// with it, every error has exactly one kind, a failed Inspect returns no
// Info, and a file Check accepts is one Sniff names that format. Sniff is
// fuzzed here too rather than in a target of its own: it is so cheap that the
// fuzzer spends a separate target's time minimising inputs, not running them.
func FuzzCheck(f *testing.F) {
	addSeeds(f)
	f.Add([]byte("\xEF\xBB\xBF<?xml version='1.0'?><!DOCTYPE svg [<!ENTITY x '>'>]><!-- c --><svg/>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sniffed := Sniff(b)
		if sniffed > BMP {
			t.Fatalf("Sniff = %d, not a listed format", sniffed)
		}
		if len(b) > sniffLimit && Sniff(b[:sniffLimit]) != sniffed {
			t.Fatalf("Sniff = %v, but %v on the first 4 KiB", sniffed, Sniff(b[:sniffLimit]))
		}
		for format := Unknown; format <= BMP+1; format++ {
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
			if info.Width < 0 || info.Height < 0 || info.Frames < 0 {
				t.Fatalf("%v: negative Info %+v", format, info)
			}
			if format <= AVIF && (info.Width == 0 || info.Frames == 0) {
				t.Fatalf("%v: accepted with Info %+v", format, info)
			}
		}
	})
}
