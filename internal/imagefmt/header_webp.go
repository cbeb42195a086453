package imagefmt

import "encoding/binary"

// webpHeader reads the first chunk: a simple file's bitstream header, or
// an extended file's VP8X canvas. When VP8X says there is EXIF, the chunk
// headers are walked to the EXIF chunk (it follows the image data) for the
// orientation, which libvips applies.
func webpHeader(h *hreader) (Header, error) {
	b, err := h.at(0, 20, "webp: RIFF header")
	if err != nil {
		return Header{}, err
	}
	if string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return Header{}, corrupt("webp: not a RIFF WEBP file")
	}
	end := int64(binary.LittleEndian.Uint32(b[4:])) + 8
	if end > h.size {
		return Header{}, truncated("webp: file shorter than its RIFF size")
	}
	n := int64(binary.LittleEndian.Uint32(b[16:]))
	hd := Header{Format: WebP, Orientation: 1}
	switch string(b[12:16]) {
	case "VP8 ", "VP8L":
		d, err := h.at(20, min(n, 10), "webp: bitstream header")
		if err != nil {
			return Header{}, err
		}
		if string(b[12:16]) == "VP8 " && len(d) == 10 {
			// vp8Size checks the first partition against the data it is
			// given; only its first bytes are read here, so the check is
			// made against the chunk's size, and the size field cleared.
			if int64(le24(d)>>5) > n-10 {
				return Header{}, corrupt("webp: VP8 first partition longer than its chunk")
			}
			d[0], d[1], d[2] = d[0]&0x1f, 0, 0
		}
		if hd.Width, hd.Height, err = imageChunk(b[12:16], d); err != nil {
			return Header{}, err
		}
		return hd, nil
	case "VP8X":
	default:
		return Header{}, corrupt("webp: first chunk is not VP8, VP8L or VP8X")
	}
	d, err := h.at(20, 10, "webp: VP8X chunk")
	if err != nil {
		return Header{}, err
	}
	hd.Width, hd.Height = int(le24(d[4:]))+1, int(le24(d[7:]))+1
	if d[0]&0x08 == 0 { // no EXIF
		return hd, nil
	}
	for pos := 20 + n + n&1; pos+8 <= end; {
		c, err := h.at(pos, 8, "webp: chunk header")
		if err != nil {
			return Header{}, err
		}
		cn := int64(binary.LittleEndian.Uint32(c[4:]))
		if string(c[:4]) == "EXIF" {
			e, err := h.at(pos+8, min(cn, maxExifRead, end-pos-8), "webp: EXIF chunk")
			if err != nil {
				return Header{}, err
			}
			hd.Orientation = exifOrientation(exifTIFF(e))
			return hd, nil
		}
		pos += 8 + cn + cn&1
	}
	return hd, nil
}
