package imagefmt

import (
	"bytes"
	"strings"
	"testing"
)

func TestSniffFixtures(t *testing.T) {
	for _, fx := range validFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			if got := Sniff(fx.data); got != fx.format {
				t.Errorf("Sniff = %v, want %v", got, fx.format)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	ftyp := func(brands string) string { return string(box("ftyp", []byte(brands))) }
	tests := []struct {
		name string
		in   string
		want Format
	}{
		{"jpeg magic", "\xFF\xD8\xFF\xE0", JPEG},
		{"png signature", pngSignature, PNG},
		{"gif87a", "GIF87a", GIF},
		{"gif89a", "GIF89a", GIF},
		{"webp", "RIFF\x00\x00\x00\x00WEBP", WebP},
		{"avif major brand", ftyp("avif\x00\x00\x00\x00mif1miaf"), AVIF},
		{"avif compatible brand", ftyp("mif1\x00\x00\x00\x00mif1avifmiaf"), AVIF},
		{"avif sequence", ftyp("avis\x00\x00\x00\x00msf1"), AVIF},
		{"heic", ftyp("heic\x00\x00\x00\x00mif1heic"), HEIC},
		{"heix", ftyp("heix\x00\x00\x00\x00mif1"), HEIC},
		{"hevc sequence", ftyp("hevc\x00\x00\x00\x00msf1"), HEIC},
		{"mif1 alone", ftyp("mif1\x00\x00\x00\x00mif1"), HEIC},
		{"ftyp prefix only", ftyp("heic\x00\x00\x00\x00mif1avif")[:20], HEIC},
		{"tiff little endian", "II*\x00\x08\x00\x00\x00", TIFF},
		{"tiff big endian", "MM\x00*\x00\x00\x00\x08", TIFF},
		{"bigtiff", "II+\x00\x08\x00\x00\x00", TIFF},
		{"bmp", "BM\x00\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00", BMP},
		{"svg", `<svg xmlns="http://www.w3.org/2000/svg"></svg>`, SVG},
		{"svg upper case", "<SVG\n></SVG>", SVG},
		{"svg with preamble", "\xEF\xBB\xBF \n<?xml version=\"1.0\"?>\n<!-- made by hand -->\n" +
			`<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd" [<!ENTITY a "<b>">]>` + "\n<svg/>", SVG},

		{"empty", "", Unknown},
		{"zeros", strings.Repeat("\x00", 64), Unknown},
		{"text", "hello, world\n", Unknown},
		{"html", "<!DOCTYPE html>\n<html><body><svg></svg></body></html>", Unknown},
		{"html without doctype", "<html><svg/></html>", Unknown},
		{"xml with another root", `<?xml version="1.0"?><feed><svg/></feed>`, Unknown},
		{"svg-like element name", "<svgx/>", Unknown},
		{"svg tag cut", "<svg", Unknown},
		{"unterminated comment", "<!-- <svg/>", Unknown},
		{"unterminated declaration", "<?xml <svg/>", Unknown},
		{"svg after 4 KiB", "<!--" + strings.Repeat("x", 4096) + "--><svg/>", Unknown},
		{"json", `{"svg": true}`, Unknown},
		{"jpeg magic cut", "\xFF\xD8", Unknown},
		{"gif magic cut", "GIF8", Unknown},
		{"riff wave", "RIFF\x00\x00\x00\x00WAVEfmt ", Unknown},
		{"mp4", ftyp("isom\x00\x00\x02\x00isomiso2mp41"), Unknown},
		{"ftyp size too small", "\x00\x00\x00\x08ftypavif", Unknown},
		{"text starting BM", "BMW is a car maker, not an image.", Unknown},
		{"tiff magic cut", "II*", Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sniff([]byte(tt.in)); got != tt.want {
				t.Errorf("Sniff(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// Sniff must give the same answer for a file and for its first 4 KiB, so a
// caller may sniff a partial download.
func TestSniffReadsOnlyPrefix(t *testing.T) {
	svg := []byte("<svg>" + strings.Repeat(" ", 8000) + "</svg>")
	png := append(makePNG(t, 100, 100), bytes.Repeat([]byte{0}, 8000)...)
	for _, b := range [][]byte{svg, png} {
		if full, head := Sniff(b), Sniff(b[:sniffLimit]); full != head || full == Unknown {
			t.Errorf("Sniff(full) = %v, Sniff(first 4 KiB) = %v", full, head)
		}
	}
}
