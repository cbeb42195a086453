package testimages

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
)

// testdata returns the path of a file in the imagefmt package's testdata.
func testdata(name string) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("cannot locate the testimages package")
	}
	return filepath.Join(filepath.Dir(file), "..", "imagefmt", "testdata", name)
}

// withISPE returns b with every ispe property patched to w x h.
func withISPE(b []byte, w, h uint32) []byte {
	b = bytes.Clone(b)
	patched := false
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte("ispe"))
		if j < 0 {
			break
		}
		at := i + j + 4 + 4 // type, version and flags
		binary.BigEndian.PutUint32(b[at:], w)
		binary.BigEndian.PutUint32(b[at+4:], h)
		patched, i = true, at
	}
	if !patched {
		panic("no ispe to patch")
	}
	return b
}

// LyingHEIC is a real HEIC written by libvips (a 64x64 HEVC tile in a grid
// cropped to 32x24) whose ispe properties claim w x h.
func LyingHEIC(w, h uint32) []byte {
	b, err := os.ReadFile(testdata("real/photo.heic"))
	if err != nil {
		panic(err)
	}
	return withISPE(b, w, h)
}

// LyingAVIF is a real 1.2 KB AVIF whose AV1 stream is 8000x8000 and whose
// ispe properties claim w x h: the container's size is a lie that a check
// of the container alone believes, and the decoder allocates 64
// megapixels. With w, h = 8000, 8000 it is honest.
func LyingAVIF(w, h uint32) []byte {
	b, err := os.ReadFile(testdata("real/black-8000.avif"))
	if err != nil {
		panic(err)
	}
	return withISPE(b, w, h)
}

// GIFFrameBeyondScreen is a GIF whose logical screen is 100x100 and whose
// one frame claims w x h: decoders grow their canvas to the frame.
func GIFFrameBeyondScreen(w, h uint16) []byte { return rawGIF(100, 100, w, h, 1, false) }

// PNGOverflowingIDAT is a PNG whose header says w x h (8-bit grey) and
// whose IDAT holds the compressed rows of a rows-times-larger image: a
// decoder must stop at what the header says.
func PNGOverflowingIDAT(w, h, rows uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0
	chunk(&b, "IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	row := make([]byte, 1+w)
	for range h * rows {
		zw.Write(row)
	}
	zw.Close()
	chunk(&b, "IDAT", z.Bytes())
	chunk(&b, "IEND", nil)
	return b.Bytes()
}

// TIFFBomb is a small TIFF whose header declares w x h RGB pixels.
func TIFFBomb(w, h uint32) []byte {
	b := TIFF(Quadrants(2, 2))
	le := binary.LittleEndian
	// ImageWidth and ImageLength are the first two entries of TIFF's IFD.
	le.PutUint32(b[8+2+8:], w)
	le.PutUint32(b[8+2+12+8:], h)
	return b
}

// GIFFrames is a GIF whose logical screen and n frames all claim w x h,
// each holding almost no data: an animation whose header alone says how
// much decoding every frame would cost.
func GIFFrames(w, h uint16, n int) []byte { return rawGIF(w, h, w, h, n, true) }

// rawGIF writes a GIF by hand: a logical screen of sw x sh with a
// two-colour table, then n frames of fw x fh at 0,0 holding almost no
// LZW data; animated adds the loop extension and a 100 ms delay to each.
func rawGIF(sw, sh, fw, fh uint16, n int, animated bool) []byte {
	var b bytes.Buffer
	b.WriteString("GIF89a")
	binary.Write(&b, binary.LittleEndian, []uint16{sw, sh})
	b.Write([]byte{0x80, 0, 0})
	b.Write([]byte{0, 0, 0, 255, 255, 255})
	if animated {
		b.Write([]byte{0x21, 0xFF, 11})
		b.WriteString("NETSCAPE2.0")
		b.Write([]byte{3, 1, 0, 0, 0})
	}
	for range n {
		if animated {
			b.Write([]byte{0x21, 0xF9, 4, 0, 10, 0, 0, 0}) // 100 ms
		}
		b.WriteByte(0x2C)
		binary.Write(&b, binary.LittleEndian, []uint16{0, 0, fw, fh})
		b.WriteByte(0)
		b.Write([]byte{2, 2, 0x4C, 0x01, 0})
	}
	b.WriteByte(0x3B)
	return b.Bytes()
}

// JXLBomb is a JPEG XL codestream of a few bytes: its size header claims
// w x h (each at most 2^30) and nothing follows it.
func JXLBomb(w, h uint32) []byte {
	var bits []bool
	put := func(v uint32, n int) {
		for i := range n {
			bits = append(bits, v>>i&1 == 1)
		}
	}
	put(0, 1) // not the small form
	put(3, 2) // height: the 30-bit field, minus one
	put(h-1, 30)
	put(0, 3) // no aspect ratio: the width follows
	put(3, 2)
	put(w-1, 30)
	put(1, 1) // default image metadata
	b := []byte{0xFF, 0x0A}
	for i := 0; i < len(bits); i += 8 {
		var x byte
		for j := 0; j < 8 && i+j < len(bits); j++ {
			if bits[i+j] {
				x |= 1 << j
			}
		}
		b = append(b, x)
	}
	return b
}
