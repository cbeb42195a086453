package imagefmt

import (
	"bytes"
	"encoding/binary"
)

// JPEG markers (ITU T.81, table B.1) that the walk treats specially.
const (
	jpegSOI = 0xD8
	jpegEOI = 0xD9
	jpegSOS = 0xDA
	jpegDNL = 0xDC
	jpegTEM = 0x01
)

// inspectJPEG walks the marker segments from SOI to EOI. Segment lengths are
// trusted only as far as the buffer goes, and entropy-coded data is skipped
// with bytes.IndexByte, which runs at memchr speed, so a multi-megabyte photo
// costs well under a millisecond. A file without EOI is truncated: that is
// exactly the damage libvips decodes as a grey lower half without complaint.
func inspectJPEG(b []byte) (Info, error) {
	if len(b) < 2 {
		return Info{}, truncated("jpeg: SOI cut short")
	}
	if b[0] != 0xFF || b[1] != jpegSOI {
		return Info{}, corrupt("jpeg: no SOI marker")
	}
	if len(b) < 3 {
		return Info{}, truncated("jpeg: cut short after SOI")
	}
	if b[2] != 0xFF {
		// Stray bytes are tolerated between segments, not before the
		// first: every JPEG writer starts FF D8 FF, and so does Sniff.
		return Info{}, corrupt("jpeg: no marker after SOI")
	}
	info := Info{Frames: 1}
	sawSOF, sawSOS := false, false
	pos := 2
	for {
		if pos >= len(b) {
			return Info{}, truncated("jpeg: missing EOI")
		}
		if b[pos] != 0xFF {
			// Cameras and editors leave stray bytes between segments; libjpeg
			// skips to the next marker with a warning and decodes the image
			// perfectly, so refusing them would refuse good photographs.
			i := bytes.IndexByte(b[pos:], 0xFF)
			if i < 0 {
				return Info{}, truncated("jpeg: missing EOI")
			}
			pos += i
		}
		// Any number of 0xFF fill bytes may precede a marker (T.81 B.1.1.2).
		for pos < len(b) && b[pos] == 0xFF {
			pos++
		}
		if pos >= len(b) {
			return Info{}, truncated("jpeg: missing EOI")
		}
		m := b[pos]
		pos++
		switch {
		case m == jpegEOI:
			if !sawSOF {
				return Info{}, corrupt("jpeg: no frame header (SOF)")
			}
			if !sawSOS {
				return Info{}, corrupt("jpeg: no scan (SOS)")
			}
			return info, nil
		case m == jpegTEM || isRST(m):
			continue // standalone markers carry no length
		case m == jpegSOI:
			return Info{}, corrupt("jpeg: SOI inside the image")
		case m == 0x00:
			continue // FF00 between segments is stray data too: skip on
		}
		if len(b)-pos < 2 {
			return Info{}, truncated("jpeg: segment length cut short")
		}
		n := int(binary.BigEndian.Uint16(b[pos:]))
		if n < 2 {
			return Info{}, corrupt("jpeg: " + markerName(m) + ": length below 2")
		}
		if n > len(b)-pos {
			return Info{}, truncated("jpeg: " + markerName(m) + ": segment past end of file")
		}
		seg := b[pos+2 : pos+n]
		pos += n
		var err error
		switch {
		case isSOF(m):
			if sawSOF {
				return Info{}, corrupt("jpeg: second frame header")
			}
			sawSOF = true
			info.Width, info.Height, err = parseSOF(seg)
		case m == jpegSOS:
			if !sawSOF {
				return Info{}, corrupt("jpeg: scan before frame header")
			}
			sawSOS = true
			if err = checkSOS(seg); err == nil {
				pos, err = skipEntropy(b, pos)
			}
		case m == jpegDNL:
			// A frame header may leave the height to a DNL segment after
			// the first scan (T.81 B.2.5).
			if len(seg) != 2 || binary.BigEndian.Uint16(seg) == 0 {
				return Info{}, corrupt("jpeg: bad DNL segment")
			}
			if info.Height == 0 {
				info.Height = int(binary.BigEndian.Uint16(seg))
			}
		}
		if err != nil {
			return Info{}, err
		}
	}
}

// parseSOF reads a frame header: precision, height, width, then three bytes
// for each of Nf components.
func parseSOF(seg []byte) (width, height int, err error) {
	if len(seg) < 6 {
		return 0, 0, corrupt("jpeg: frame header too short")
	}
	height = int(binary.BigEndian.Uint16(seg[1:]))
	width = int(binary.BigEndian.Uint16(seg[3:]))
	nf := int(seg[5])
	if nf == 0 || len(seg) != 6+3*nf {
		return 0, 0, corrupt("jpeg: frame header component count does not match its length")
	}
	if width == 0 {
		return 0, 0, corrupt("jpeg: frame width is zero")
	}
	return width, height, nil
}

// checkSOS checks a scan header: Ns, two bytes per component, then spectral
// selection and successive approximation.
func checkSOS(seg []byte) error {
	if len(seg) < 1 || seg[0] < 1 || seg[0] > 4 || len(seg) != 1+2*int(seg[0])+3 {
		return corrupt("jpeg: bad scan header")
	}
	return nil
}

// skipEntropy skips entropy-coded data from pos and returns the offset of the
// 0xFF that starts the next marker. Inside the data, 0xFF is followed by a
// stuffed zero or a restart marker; anything else ends the scan. IndexByte
// runs only from a byte that is not 0xFF, so data dense with stuffed bytes
// costs a compare per byte rather than a call per byte.
func skipEntropy(b []byte, pos int) (int, error) {
	for {
		if pos < len(b) && b[pos] != 0xFF {
			if i := bytes.IndexByte(b[pos:], 0xFF); i >= 0 {
				pos += i
			} else {
				pos = len(b)
			}
		}
		if pos+1 >= len(b) {
			return 0, truncated("jpeg: entropy-coded data runs to end of file")
		}
		switch m := b[pos+1]; {
		case m == 0x00 || isRST(m):
			pos += 2
		case m == 0xFF:
			pos++ // a fill byte; the marker is still to come
		default:
			return pos, nil
		}
	}
}

// isSOF reports whether m starts a frame: SOF0..SOF15 except DHT (C4),
// JPG (C8) and DAC (CC), which share the range.
func isSOF(m byte) bool {
	return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC
}

func isRST(m byte) bool { return m >= 0xD0 && m <= 0xD7 }

func markerName(m byte) string {
	const hex = "0123456789ABCDEF"
	return "marker FF" + string([]byte{hex[m>>4], hex[m&15]})
}
