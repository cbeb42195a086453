package imagefmt

import (
	"bytes"
	"encoding/binary"
)

// The formats in this file get only a magic check plus whatever single cheap
// test catches the usual truncation; libvips' own loaders judge the rest.

const bmpMinHeader = 18 // file header plus the DIB header's size field

// checkTIFF checks the byte-order mark and that the first IFD offset points
// inside the file. Writers such as libtiff put the IFD after the strips, so a
// cut download usually loses it.
func checkTIFF(b []byte) error {
	if len(b) < 8 {
		return truncated("tiff: header cut short")
	}
	if !isTIFFMagic(b) {
		return corrupt("tiff: bad byte-order mark")
	}
	var order binary.ByteOrder = binary.LittleEndian
	if b[0] == 'M' {
		order = binary.BigEndian
	}
	var ifd, minIFD, entrySize uint64
	if order.Uint16(b[2:]) == 42 {
		ifd, minIFD, entrySize = uint64(order.Uint32(b[4:])), 8, 2
	} else {
		// BigTIFF: offset size 8, a zero, then a 64-bit IFD offset.
		if len(b) < 16 {
			return truncated("tiff: BigTIFF header cut short")
		}
		if order.Uint16(b[4:]) != 8 || order.Uint16(b[6:]) != 0 {
			return corrupt("tiff: bad BigTIFF header")
		}
		ifd, minIFD, entrySize = order.Uint64(b[8:]), 16, 8
	}
	if ifd < minIFD {
		return corrupt("tiff: first IFD offset inside the header")
	}
	if ifd > uint64(len(b)) || uint64(len(b))-ifd < entrySize {
		return truncated("tiff: first IFD past end of file")
	}
	return nil
}

// checkBMP checks the magic, that the whole DIB header is present, and that
// the pixel data starts inside the file.
func checkBMP(b []byte) error {
	if len(b) < bmpMinHeader {
		return truncated("bmp: header cut short")
	}
	if !isBMPMagic(b) {
		return corrupt("bmp: bad magic or DIB header size")
	}
	if dib := binary.LittleEndian.Uint32(b[14:]); uint64(len(b)) < 14+uint64(dib) {
		return truncated("bmp: DIB header cut short")
	}
	if off := binary.LittleEndian.Uint32(b[10:]); uint64(off) > uint64(len(b)) {
		return truncated("bmp: pixel data offset past end of file")
	}
	return nil
}

// checkSVG checks that the document element is <svg> and that the document
// ends with '>': a well-formed XML document ends with its root's end tag, a
// comment or a processing instruction, all of which do, so a cut at a random
// byte is caught. Well-formedness beyond that is left to the SVG loader.
func checkSVG(b []byte) error {
	if !isSVG(b) {
		if len(b) < len("<svg>") {
			return truncated("svg: document cut short")
		}
		return corrupt("svg: root element is not <svg>")
	}
	if t := bytes.TrimRight(b, " \t\r\n"); t[len(t)-1] != '>' {
		return truncated("svg: document does not end with '>'")
	}
	return nil
}
