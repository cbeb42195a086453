package imagefmt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Header reads from the first bytes the size Inspect reads from the whole
// file, for every valid fixture and every valid PngSuite file.
func TestHeaderMatchesInspect(t *testing.T) {
	files := validFixtures(t)
	paths, _ := filepath.Glob("testdata/pngsuite/[^x]*.png")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fixture{name: p, data: b, format: PNG})
	}
	checked := 0
	for _, f := range files {
		hd, err := HeaderOf(f.data)
		switch f.format {
		case SVG, BMP:
			if !errors.Is(err, ErrNotImage) {
				t.Errorf("%s: got %+v, %v; want ErrNotImage", f.name, hd, err)
			}
			continue
		case TIFF:
			if err != nil || hd != (Header{TIFF, 32, 24, 1}) {
				t.Errorf("%s: got %+v, %v; want 32x24", f.name, hd, err)
			}
			continue
		}
		info, ierr := Inspect(f.data, f.format)
		if err != nil || ierr != nil || hd.Format != f.format || hd.Width != info.Width || hd.Height != info.Height || hd.Orientation != 1 {
			t.Errorf("%s: Header %+v, %v; Inspect %+v, %v", f.name, hd, err, info, ierr)
		}
		checked++
	}
	t.Logf("%d files: Header's size is Inspect's", checked)
}

// A header cut anywhere is ErrTruncated, never another answer: a caller
// that reads more on ErrTruncated ends with what the whole file says.
func TestHeaderEveryPrefix(t *testing.T) {
	for _, f := range append(validFixtures(t), orientedFixtures(t)...) {
		want, err := HeaderOf(f.data)
		if errors.Is(err, ErrNotImage) {
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		first := -1
		for n := range len(f.data) {
			got, err := HeaderOf(f.data[:n])
			switch {
			case err == nil && got != want:
				t.Fatalf("%s, first %d bytes: %+v, want %+v", f.name, n, got, want)
			case err == nil && first < 0:
				first = n
			case err != nil && !errors.Is(err, ErrTruncated):
				t.Fatalf("%s, first %d bytes: %v, want ErrTruncated", f.name, n, err)
			case err != nil && first >= 0:
				t.Fatalf("%s: %d bytes are enough but %d are not: %v", f.name, first, n, err)
			}
		}
	}
}

// orientedFixtures are files whose EXIF or HEIF properties turn them; the
// fixture's info holds the size as shown.
func orientedFixtures(t testing.TB) []fixture {
	jpg := makeJPEG(t, 40, 30, false)
	var out []fixture
	for o := uint16(1); o <= 8; o++ {
		w, h := 40, 30
		if o >= 5 {
			w, h = 30, 40
		}
		out = append(out, fixture{"jpeg/orientation-" + string(rune('0'+o)), withJPEGOrientation(jpg, o), JPEG, Info{Width: w, Height: h, Frames: int(o)}})
	}
	png := makePNG(t, 40, 30)
	exif := pngChunk("eXIf", exifTIFFOrientation(6)...)
	out = append(out, fixture{"png/eXIf-6", append(append(bytes.Clone(png[:33]), exif...), png[33:]...), PNG, Info{Width: 30, Height: 40, Frames: 6}})

	vp8 := chunk("VP8 ", vp8KeyFrame(300, 200))
	vp8x := []byte{0x08, 0, 0, 0, 43, 1, 0, 199, 0, 0} // EXIF flag, 300x200
	padding := chunk("JUNK", make([]byte, 100_000))    // the EXIF chunk comes last, far in
	out = append(out, fixture{"webp/EXIF-8", riff(chunk("VP8X", vp8x), vp8, padding, chunk("EXIF", []byte("Exif\x00\x00"), exifTIFFOrientation(8))), WebP, Info{Width: 200, Height: 300, Frames: 8}})

	out = append(out, fixture{"tiff/orientation-7-ifd-last", tiffIFDLast(50, 20, 7, 100_000), TIFF, Info{Width: 20, Height: 50, Frames: 7}})
	out = append(out, fixture{"heic/irot-1-clap", heifTurned(64, 48, 1, [2]uint32{60, 40}), HEIC, Info{Width: 40, Height: 60, Frames: 1}})
	out = append(out, fixture{"heic/irot-2", heifTurned(64, 48, 2, [2]uint32{}), HEIC, Info{Width: 64, Height: 48, Frames: 1}})
	return out
}

// Orientation is read from JPEG APP1, PNG eXIf, WebP EXIF and TIFF IFD0,
// and 5 to 8 swap the sides; HEIF's clap crops and irot turns.
func TestHeaderOrientation(t *testing.T) {
	for _, f := range orientedFixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			r := &countingReaderAt{r: bytes.NewReader(f.data)}
			hd, err := ReadHeader(r, int64(len(f.data)))
			wantO := f.info.Frames // the orientation, in the fixture's spare field
			if f.format == HEIC {
				wantO = 1
			}
			if err != nil || hd != (Header{f.format, f.info.Width, f.info.Height, wantO}) {
				t.Fatalf("got %+v, %v; want %dx%d, orientation %d", hd, err, f.info.Width, f.info.Height, wantO)
			}
			// Only the header is read, even where it points far into the
			// file (a WebP's EXIF after 100 kB, a TIFF's IFD at the end).
			if r.n > 2048 {
				t.Errorf("read %d bytes of %d", r.n, len(f.data))
			}
		})
	}
}

func TestHeaderRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		b    []byte
		kind error
	}{
		"html":             {[]byte("<!doctype html><html><body>hello</body></html>"), ErrNotImage},
		"empty":            {nil, ErrTruncated},
		"jpeg no SOF":      {[]byte("\xff\xd8\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"), ErrCorrupt},
		"jpeg EOI":         {[]byte("\xff\xd8\xff\xd9"), ErrCorrupt},
		"png bad IHDR CRC": {append([]byte(pngSignature), pngChunk("IHDR", make([]byte, 13)...)[:21]...), ErrCorrupt},
		"gif no image":     {append([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00"), gifTrailer), ErrCorrupt},
	} {
		if c.kind == ErrCorrupt && name == "png bad IHDR CRC" {
			c.b = append(c.b, 0, 0, 0, 0)
		}
		if _, err := HeaderOf(c.b); !errors.Is(err, c.kind) {
			t.Errorf("%s: got %v, want %v", name, err, c.kind)
		}
	}
}

// A reader's own error comes back as it is, not as damage.
func TestHeaderReaderError(t *testing.T) {
	boom := errors.New("origin unreachable")
	_, err := ReadHeader(failingReaderAt{boom}, 1000)
	if !errors.Is(err, boom) || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrTruncated) {
		t.Fatalf("got %v, want the reader's error alone", err)
	}
}

type failingReaderAt struct{ err error }

func (f failingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, f.err }

type countingReaderAt struct {
	r *bytes.Reader
	n int
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += n
	return n, err
}

// withJPEGOrientation inserts an Exif APP1 segment after SOI.
func withJPEGOrientation(jpg []byte, o uint16) []byte {
	payload := append([]byte("Exif\x00\x00"), exifTIFFOrientation(o)...)
	seg := binary.BigEndian.AppendUint16([]byte{0xff, 0xe1}, uint16(len(payload)+2))
	return bytes.Join([][]byte{jpg[:2], seg, payload, jpg[2:]}, nil)
}

// exifTIFFOrientation is a big-endian TIFF structure whose IFD0 holds one
// Orientation entry.
func exifTIFFOrientation(o uint16) []byte {
	b := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x01")
	b = append(b, 0x01, 0x12, 0, 3, 0, 0, 0, 1, byte(o>>8), byte(o), 0, 0)
	return append(b, 0, 0, 0, 0)
}

// tiffIFDLast is a little-endian TIFF whose IFD0 comes after pad bytes of
// strips, as libtiff writes it.
func tiffIFDLast(w, h uint32, orientation uint16, pad int) []byte {
	le := binary.LittleEndian
	b := le.AppendUint32([]byte("II*\x00"), uint32(8+pad))
	b = append(b, make([]byte, pad)...)
	b = le.AppendUint16(b, 3)
	entry := func(tag, typ uint16, v uint32) {
		b = le.AppendUint16(b, tag)
		b = le.AppendUint16(b, typ)
		b = le.AppendUint32(b, 1)
		b = le.AppendUint32(b, v)
	}
	entry(256, 4, w)
	entry(257, 3, h) // a SHORT: the value sits in the field's first two bytes
	entry(274, 3, uint32(orientation))
	return le.AppendUint32(b, 0)
}

// heifTurned is a HEIC whose primary item has an ispe of w x h, a clap
// (when given) and an irot of rot quarter turns, behind a large mdat.
func heifTurned(w, h uint32, rot byte, clap [2]uint32) []byte {
	props := [][]byte{fullbox("ispe", 0, 0, u32(w), u32(h)), box("irot", []byte{rot})}
	assoc := []byte{2, 0x81, 0x82}
	if clap != [2]uint32{} {
		props = append(props, box("clap", u32(clap[0]), u32(1), u32(clap[1]), u32(1), u32(0), u32(1), u32(0), u32(1)))
		assoc = []byte{3, 0x81, 0x83, 0x82} // the order of association is not the order of application
	}
	ipma := fullbox("ipma", 0, 0, u32(1), u16(1), assoc)
	meta := fullbox("meta", 0, 0, fullbox("pitm", 0, 0, u16(1)), box("iprp", box("ipco", props...), ipma))
	return bytes.Join([][]byte{box("ftyp", []byte("heic\x00\x00\x00\x00mif1heic")), box("mdat", make([]byte, 50_000)), meta}, nil)
}
