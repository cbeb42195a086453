package imagefmt

import "encoding/binary"

// VP8X flags for the chunks stripWebP removes.
const (
	vp8xEXIF = 0x08
	vp8xXMP  = 0x04
)

// stripWebP drops EXIF, XMP and unknown top-level chunks, clears their
// flags in VP8X and rewrites the RIFF size. A simple (VP8 or VP8L only)
// file has nowhere to keep metadata and comes back unchanged.
func stripWebP(b []byte) ([]byte, bool) {
	size := int(binary.LittleEndian.Uint32(b[4:])) + 8
	if size > len(b) || size < 12 {
		return nil, false
	}
	k := keeper{src: b}
	vp8x := -1 // offset of the VP8X payload
	for pos := 12; pos < size; {
		if size-pos < 8 {
			return nil, false
		}
		n := int(binary.LittleEndian.Uint32(b[pos+4:]))
		end := pos + 8 + n + n&1
		if n < 0 || pos+8+n > size {
			return nil, false
		}
		end = min(end, size)
		switch string(b[pos : pos+4]) {
		case "VP8X":
			vp8x = pos + 8
		case "EXIF":
			if !upright(exifTIFF(b[pos+8 : pos+8+n])) {
				return nil, false
			}
			k.drop(pos, end)
		case "ICCP", "ANIM", "ANMF", "ALPH", "VP8 ", "VP8L":
		default:
			k.drop(pos, end)
		}
		pos = end
	}
	if size < len(b) {
		k.drop(size, len(b))
	}
	if !k.cut {
		return b, true
	}
	out := k.result()
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	if vp8x >= 0 && vp8x < len(out) {
		// VP8X is the first chunk, so its offset is the same in out.
		out[vp8x] &^= vp8xEXIF | vp8xXMP
	}
	return out, true
}

// exifTIFF returns the TIFF structure of a WebP EXIF chunk, which some
// writers prefix with "Exif\0\0" as in JPEG.
func exifTIFF(d []byte) []byte {
	if len(d) >= 6 && string(d[:6]) == "Exif\x00\x00" {
		return d[6:]
	}
	return d
}
