package imagefmt

import (
	"bytes"
	"encoding/binary"
)

// stripJPEG drops COM and every APPn segment but JFIF (APP0), ICC_PROFILE
// (APP2) and Adobe (APP14, whose transform flag says how libjpeg and
// browsers convert the colours), and any bytes after EOI. The segments are
// found by the same walk as inspectJPEG's; the entropy-coded data is copied
// as it is.
func stripJPEG(b []byte) ([]byte, bool) {
	k := keeper{src: b}
	pos := 2
	for pos < len(b) {
		if b[pos] != 0xFF {
			// Stray bytes between segments go too: once the segment
			// before them is dropped they could land right after SOI,
			// where no decoder tolerates them.
			i := bytes.IndexByte(b[pos:], 0xFF)
			if i < 0 {
				return nil, false
			}
			k.drop(pos, pos+i)
			pos += i
		}
		start := pos
		for pos < len(b) && b[pos] == 0xFF {
			pos++
		}
		if pos >= len(b) {
			return nil, false
		}
		m := b[pos]
		pos++
		switch {
		case m == jpegEOI:
			if pos < len(b) {
				k.drop(pos, len(b)) // trailers: vendor metadata, appended files
			}
			return k.result(), true
		case m == jpegTEM || isRST(m) || m == 0x00:
			continue
		case m == jpegSOI:
			return nil, false
		}
		if len(b)-pos < 2 {
			return nil, false
		}
		n := int(binary.BigEndian.Uint16(b[pos:]))
		if n < 2 || n > len(b)-pos {
			return nil, false
		}
		seg := b[pos+2 : pos+n]
		pos += n
		switch keep, ok := jpegSegmentKept(m, seg); {
		case !ok:
			return nil, false
		case !keep:
			k.drop(start, pos)
		case m == jpegSOS:
			var err error
			if pos, err = skipEntropy(b, pos); err != nil {
				return nil, false
			}
		}
	}
	return nil, false
}

// jpegSegmentKept says whether a segment stays; ok is false when it is an
// EXIF block that rotates the image.
func jpegSegmentKept(m byte, seg []byte) (keep, ok bool) {
	switch {
	case m == 0xFE: // COM
		return false, true
	case m == 0xE0:
		return bytes.HasPrefix(seg, []byte("JFIF\x00")), true
	case m == 0xE1:
		if t, isExif := bytes.CutPrefix(seg, []byte("Exif\x00\x00")); isExif && !upright(t) {
			return false, false
		}
		return false, true
	case m == 0xE2:
		return bytes.HasPrefix(seg, []byte("ICC_PROFILE\x00")), true
	case m == 0xEE:
		return bytes.HasPrefix(seg, []byte("Adobe")), true
	case m >= 0xE3 && m <= 0xEF:
		return false, true
	}
	return true, true
}
