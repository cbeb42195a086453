package imagefmt

import (
	"bytes"
	"image/jpeg"
	"image/png"
	"testing"
)

// BenchmarkCheckJPEG checks a ~2 MB JPEG of a noisy 2000x1500 image: the size
// of a phone photo, with dense entropy-coded data.
func BenchmarkCheckJPEG(b *testing.B) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, picture(2000, 1500, true), &jpeg.Options{Quality: 80}); err != nil {
		b.Fatal(err)
	}
	benchmarkCheck(b, buf.Bytes(), JPEG)
}

// BenchmarkCheckJPEGAllStuffed is the worst case for the entropy skip: 1 MB
// of scan data that is nothing but stuffed 0xFF 0x00 pairs, so IndexByte
// stops every second byte.
func BenchmarkCheckJPEGAllStuffed(b *testing.B) {
	p := minimalJPEG()
	p.scan = bytes.Repeat([]byte{0xFF, 0x00}, 1<<19)
	benchmarkCheck(b, p.join(), JPEG)
}

// BenchmarkCheckPNG is bound by CRC-32 over every byte of a noisy image.
func BenchmarkCheckPNG(b *testing.B) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, picture(1000, 750, true)); err != nil {
		b.Fatal(err)
	}
	benchmarkCheck(b, buf.Bytes(), PNG)
}

func benchmarkCheck(b *testing.B, data []byte, f Format) {
	if err := Check(data, f); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(data, f); err != nil {
			b.Fatal(err)
		}
	}
}
