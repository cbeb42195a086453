package imagefmt

import (
	"bytes"
	"encoding/binary"
)

// sniffLimit is how far into a file Sniff looks. It lets a caller sniff the
// first few KiB of a download, and keeps a hostile file from making Sniff
// scan megabytes of XML preamble.
const sniffLimit = 4096

// Sniff names the format of b from its magic bytes, and only from them: a file
// name or a Content-Type from the origin can lie. It looks at no more than the
// first 4 KiB. HTML, text and anything else unrecognised is Unknown. Sniff
// does not check that the file is complete; that is Check's job.
func Sniff(b []byte) Format {
	if len(b) > sniffLimit {
		b = b[:sniffLimit]
	}
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return JPEG
	case bytes.HasPrefix(b, []byte(pngSignature)):
		return PNG
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return GIF
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return WebP
	case isTIFFMagic(b):
		return TIFF
	case isBMPMagic(b):
		return BMP
	case isJXLMagic(b):
		return JXL
	}
	if f := sniffFtyp(b); f != Unknown {
		return f
	}
	if isSVG(b) {
		return SVG
	}
	return Unknown
}

// sniffFtyp classifies an ISOBMFF file by the brands of its leading ftyp box,
// reading only the brands that b holds. Real ftyp boxes are a few dozen
// bytes; requiring 16 to 4096 also means no other format's magic, read as a
// box size, can pass for one.
func sniffFtyp(b []byte) Format {
	if len(b) < 12 || string(b[4:8]) != "ftyp" {
		return Unknown
	}
	size := binary.BigEndian.Uint32(b)
	if size < 16 || size > sniffLimit {
		return Unknown
	}
	return ftypFormat(b[8:min(int(size), len(b))])
}

// ftypFormat classifies an ftyp payload: major brand, minor version, then
// compatible brands. An AV1 brand anywhere wins, because AVIF files usually
// also list the generic HEIF brand mif1.
func ftypFormat(p []byte) Format {
	heif := false
	for i := 0; i+4 <= len(p); i += 4 {
		if i == 4 {
			continue // the minor version is a number, not a brand
		}
		switch string(p[i : i+4]) {
		case "avif", "avis":
			return AVIF
		case "heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs", "mif1", "msf1":
			heif = true
		}
	}
	if heif {
		return HEIC
	}
	return Unknown
}

// isTIFFMagic accepts classic TIFF ("II*\0", "MM\0*") and BigTIFF
// ("II+\0", "MM\0+") byte-order marks.
func isTIFFMagic(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	switch string(b[:4]) {
	case "II*\x00", "MM\x00*", "II+\x00", "MM\x00+":
		return true
	}
	return false
}

// isBMPMagic needs more than "BM", which plenty of text starts with: the
// size of the DIB header that follows the 14-byte file header must be one of
// the sizes the BMP variants define.
func isBMPMagic(b []byte) bool {
	if len(b) < bmpMinHeader || b[0] != 'B' || b[1] != 'M' {
		return false
	}
	switch binary.LittleEndian.Uint32(b[14:]) {
	case 12, 16, 40, 52, 56, 64, 108, 124:
		return true
	}
	return false
}
