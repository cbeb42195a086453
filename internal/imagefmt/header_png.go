package imagefmt

import (
	"encoding/binary"
	"hash/crc32"
)

// maxExifRead is how much of an EXIF payload is read for its orientation,
// which sits in the first IFD, a few dozen bytes in.
const maxExifRead = 64 << 10

// pngHeader reads IHDR, then the chunk headers up to the image data for
// an eXIf chunk (which must come before IDAT), whose orientation libvips
// applies.
func pngHeader(h *hreader) (Header, error) {
	b, err := h.at(0, 8+8+13+4, "png: IHDR")
	if err != nil {
		return Header{}, err
	}
	if string(b[:8]) != pngSignature {
		return Header{}, corrupt("png: bad signature")
	}
	if binary.BigEndian.Uint32(b[8:]) != 13 || string(b[12:16]) != "IHDR" {
		return Header{}, corrupt("png: chunk IHDR must come first, 13 bytes long")
	}
	if crc32.ChecksumIEEE(b[12:29]) != binary.BigEndian.Uint32(b[29:]) {
		return Header{}, corrupt("png: chunk IHDR: bad CRC")
	}
	var st pngState
	w, hh, err := st.header(b[16:29])
	if err != nil {
		return Header{}, err
	}
	hd := Header{Format: PNG, Width: w, Height: hh, Orientation: 1}
	for pos := int64(33); ; {
		c, err := h.at(pos, 8, "png: chunk header")
		if err != nil {
			return Header{}, err
		}
		n := int64(binary.BigEndian.Uint32(c))
		typ := c[4:8]
		if n > 1<<31-1 || !isChunkType(typ) {
			return Header{}, corrupt("png: bad chunk header")
		}
		switch string(typ) {
		case "IDAT", "IEND":
			return hd, nil
		case "eXIf":
			d, err := h.at(pos+8, min(n, maxExifRead), "png: eXIf chunk")
			if err != nil {
				return Header{}, err
			}
			hd.Orientation = exifOrientation(d)
		}
		pos += 12 + n
	}
}
