package imagefmt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Header is what an image's header says about the picture a decoder makes
// of it, read without the rest of the file.
type Header struct {
	Format Format
	// Width and Height are the picture as shown: after the EXIF
	// orientation (5 to 8 swap them) or, for AVIF and HEIC, after the
	// clean aperture and rotation properties, and for JPEG XL after its
	// own orientation field, as libvips delivers it.
	Width, Height int
	// Orientation is the EXIF orientation, 1 to 8; 1 when there is none,
	// and for AVIF, HEIC and JPEG XL, whose decoders apply their own.
	Orientation int
}

// ErrNotImage is the error kind for bytes that are no image format whose
// size Header reads: anything but JPEG, PNG, GIF, WebP, AVIF, HEIC, JPEG
// XL and TIFF.
var ErrNotImage = errors.New("not an image whose size can be read from its header")

// maxHeaderRead bounds the bytes ReadHeader reads, together: real headers
// are a few KiB (a JPEG's EXIF and ICC segments, a HEIF's meta box), and a
// hostile file must not make it read a whole object in small pieces.
const maxHeaderRead = 4 << 20

// ReadHeader reads the header of the image in r, which holds size bytes.
// It reads only what the header needs, in small pieces at the offsets the
// structure points to (a WebP's EXIF chunk after its bitstream, a TIFF's
// first IFD wherever the writer put it), so r can be a remote object read
// by ranges. It checks what it reads but, unlike Check, not the rest of the
// file. Errors wrap ErrTruncated (the header runs past size), ErrCorrupt,
// ErrNotImage, or are r's own.
func ReadHeader(r io.ReaderAt, size int64) (Header, error) {
	h := &hreader{r: r, size: size, budget: maxHeaderRead}
	magic, err := h.at(0, min(size, 64), "magic")
	if err != nil {
		return Header{}, err
	}
	var hd Header
	switch f := Sniff(magic); f {
	case JPEG:
		hd, err = jpegHeader(h)
	case PNG:
		hd, err = pngHeader(h)
	case GIF:
		hd, err = gifHeader(h)
	case WebP:
		hd, err = webpHeader(h)
	case AVIF, HEIC:
		hd, err = heifHeader(h, f)
	case JXL:
		hd, err = jxlHeader(h)
	case TIFF:
		hd, err = tiffHeader(h)
	case Unknown:
		if len(magic) < 12 {
			return Header{}, truncated("file too short to name its format")
		}
		return Header{}, fmt.Errorf("%w: unknown format", ErrNotImage)
	default:
		return Header{}, fmt.Errorf("%w: %s", ErrNotImage, f)
	}
	if err != nil {
		return Header{}, err
	}
	if hd.Orientation < 1 || hd.Orientation > 8 {
		hd.Orientation = 1 // libvips reads anything else as 1
	}
	if hd.Orientation >= 5 {
		hd.Width, hd.Height = hd.Height, hd.Width
	}
	return hd, nil
}

// HeaderOf is ReadHeader over a whole file or a prefix of one. With a
// prefix, ErrTruncated means the header goes on past it.
func HeaderOf(b []byte) (Header, error) {
	return ReadHeader(bytes.NewReader(b), int64(len(b)))
}

// hreader reads pieces of a file within its size and a byte budget.
type hreader struct {
	r      io.ReaderAt
	size   int64
	budget int64
}

// at returns n bytes from off; what names them for an error.
func (h *hreader) at(off, n int64, what string) ([]byte, error) {
	if off < 0 || n < 0 || off > h.size || n > h.size-off {
		return nil, truncated(what + " past end of file")
	}
	if n > h.budget {
		return nil, corrupt(fmt.Sprintf("%s: header larger than %d bytes", what, maxHeaderRead))
	}
	h.budget -= n
	b := make([]byte, n)
	got, err := h.r.ReadAt(b, off)
	if got == int(n) {
		return b, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return nil, truncated(what + " past end of file")
	}
	return nil, fmt.Errorf("reading %s: %w", what, err)
}

// boxAt reads the header of the ISOBMFF box at pos (HEIF, AVIF, the JPEG
// XL container): its type, its whole size (a size of 0 runs to the end of
// the file) and the length of the header itself.
func (h *hreader) boxAt(pos int64) (typ string, size, hdr int64, err error) {
	b, err := h.at(pos, min(16, h.size-pos), "box header")
	if err != nil {
		return "", 0, 0, err
	}
	if len(b) < 8 {
		return "", 0, 0, truncated("box header cut short")
	}
	size, hdr = int64(binary.BigEndian.Uint32(b)), 8
	typ = string(b[4:8])
	switch size {
	case 0:
		size = h.size - pos
	case 1:
		if len(b) < 16 {
			return "", 0, 0, truncated("box " + strconv.Quote(typ) + ": 64-bit size cut short")
		}
		size, hdr = int64(binary.BigEndian.Uint64(b[8:])), 16
	}
	if size < hdr {
		return "", 0, 0, corrupt("box " + strconv.Quote(typ) + ": size smaller than its header")
	}
	return typ, size, hdr, nil
}
