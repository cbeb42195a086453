package imagefmt

import "encoding/binary"

// exifOrientation reads the Orientation tag (0x0112) from IFD0 of a TIFF
// structure, the payload of EXIF in every format. It returns 1 when the tag
// is absent and 0 when the structure cannot be read: the caller then cannot
// know how a decoder would orient the pixels.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0
	}
	ifd := uint64(bo.Uint32(t[4:]))
	if ifd+2 > uint64(len(t)) {
		return 0
	}
	n := uint64(bo.Uint16(t[ifd:]))
	if ifd+2+12*n > uint64(len(t)) {
		return 0
	}
	for i := uint64(0); i < n; i++ {
		e := t[ifd+2+12*i:]
		if bo.Uint16(e) != 0x0112 {
			continue
		}
		// SHORT, count 1: the value sits in the first two bytes of the
		// value field.
		if bo.Uint16(e[2:]) != 3 || bo.Uint32(e[4:]) != 1 {
			return 0
		}
		return int(bo.Uint16(e[8:]))
	}
	return 1
}

// upright reports whether an EXIF payload leaves the pixels as stored.
func upright(tiff []byte) bool {
	return exifOrientation(tiff) == 1
}
