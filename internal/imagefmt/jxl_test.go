package imagefmt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/testimages"
	"github.com/imgproxy-team/imgproxy/internal/testtools"
)

// The size read from a JPEG XL header is the size libvips decodes, for
// sizes that take every path of the size header (multiples of 8 up to 256
// with each aspect ratio it codes, and sides that need each field width),
// in a bare codestream and in a container, as cjxl writes them; and the
// orientation of a recompressed JPEG is applied, as libjxl does.
func TestJXLSizeMatchesLibvips(t *testing.T) {
	cjxl := testtools.Path(t, "cjxl", "libjxl-tools")
	dir := t.TempDir()
	dims := [][2]int{{1, 1}, {8, 8}, {256, 256}, {48, 40}, {64, 48}, {96, 64}, {128, 72}, {80, 64}, {128, 64},
		{7, 3}, {3, 700}, {513, 9}, {9000, 2}, {2, 9000}, {300000, 1}}
	var files []string
	for i, s := range dims {
		img := image.NewGray(image.Rect(0, 0, s[0], s[1]))
		for j := range img.Pix {
			img.Pix[j] = uint8(j * 13)
		}
		in := filepath.Join(dir, strconv.Itoa(i)+".png")
		f, _ := os.Create(in)
		png.Encode(f, img)
		f.Close()
		for _, container := range []string{"0", "1"} {
			out := filepath.Join(dir, fmt.Sprintf("%d-%s.jxl", i, container))
			testtools.Run(t, cjxl, "--container="+container, "-d", "0", "-e", "1", in, out)
			files = append(files, out)
		}
	}
	jpg := filepath.Join(dir, "rotated.jpg")
	os.WriteFile(jpg, withJPEGOrientation(makeJPEG(t, 40, 30, false), 6), 0o644)
	testtools.Run(t, cjxl, jpg, filepath.Join(dir, "rotated.jxl"))
	files = append(files, filepath.Join(dir, "rotated.jxl"))

	decoded := testtools.Sizes(t, files...)
	for i, name := range files {
		w, h := decoded[i][0], decoded[i][1]
		b, _ := os.ReadFile(name)
		hd, err := HeaderOf(b)
		if err != nil || hd != (Header{JXL, w, h, 1}) {
			t.Errorf("%s: Header %+v, %v; libvips decodes %dx%d", filepath.Base(name), hd, err, w, h)
		}
		if f := Sniff(b); f != JXL {
			t.Errorf("%s: sniffed as %v", filepath.Base(name), f)
		}
		info, err := Inspect(b, JXL)
		if err != nil || int64(info.Width)*int64(info.Height) != int64(w)*int64(h) {
			t.Errorf("%s: Inspect %+v, %v; libvips decodes %dx%d", filepath.Base(name), info, err, w, h)
		}
	}
}

// A container cut anywhere is ErrTruncated; a bare codestream cut after
// its size header cannot be told from a whole one (libjxl refuses it when
// it decodes); foreign boxes around the codestream are fine, a second
// codestream or a missing one is not.
func TestJXLStructure(t *testing.T) {
	parts := readTestdata(t, "real/parts.jxl")
	for n := len(jxlContainerMagic); n < len(parts); n++ {
		if _, err := Inspect(parts[:n], JXL); !errors.Is(err, ErrTruncated) {
			t.Fatalf("container cut to %d of %d bytes: %v, want ErrTruncated", n, len(parts), err)
		}
	}
	box := func(typ string, payload []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(8+len(payload)))
		return append(append(b, typ...), payload...)
	}
	cs := readTestdata(t, "real/photo.jxl")
	head := append([]byte(jxlContainerMagic), box("ftyp", []byte("jxl \x00\x00\x00\x00jxl "))...)
	withBox := func(boxes ...[]byte) []byte {
		b := append([]byte(nil), head...)
		for _, x := range boxes {
			b = append(b, x...)
		}
		return b
	}
	jxlc := box("jxlc", cs[:200]) // the size header is all Inspect reads of it
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"exif and xml around", withBox(box("Exif", make([]byte, 40)), jxlc, box("xml ", []byte("<x/>"))), nil},
		{"no codestream", withBox(box("Exif", make([]byte, 40))), ErrTruncated},
		{"two codestreams", withBox(jxlc, jxlc), ErrCorrupt},
		{"no ftyp", append([]byte(jxlContainerMagic), jxlc...), ErrCorrupt},
		{"part after the last", withBox(box("jxlp", append([]byte{0x80, 0, 0, 0}, cs...)), box("jxlp", []byte{0, 0, 0, 1})), ErrCorrupt},
		{"no last part", withBox(box("jxlp", append([]byte{0, 0, 0, 0}, cs[:100]...))), ErrTruncated},
		{"bare, cut in the size header", cs[:3], ErrTruncated},
	} {
		_, err := Inspect(c.b, JXL)
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// A size header can claim any size up to 2^30 on a side in a few bytes:
// the claim is what the caller's pixel limit is checked against.
func TestJXLClaimedSize(t *testing.T) {
	b := testimages.JXLBomb(50000, 40000)
	info, err := Inspect(b, JXL)
	if err != nil || info.Width != 50000 || info.Height != 40000 {
		t.Errorf("got %+v, %v; want the 50000x40000 the header claims", info, err)
	}
	if f := Sniff(b); f != JXL {
		t.Errorf("sniffed as %v", f)
	}
}
