package imagefmt

import (
	"bytes"
	"encoding/binary"
)

// jpegScanWindow is how far one read looks for the next marker past
// stray bytes between segments.
const jpegScanWindow = 4096

// jpegHeader walks the marker segments from SOI to the first scan: the
// frame header gives the size, the first Exif APP1 segment the
// orientation (libjpeg keeps the segments before the first scan, and
// libvips reads the orientation from the first Exif one).
func jpegHeader(h *hreader) (Header, error) {
	hd := Header{Format: JPEG, Orientation: 1}
	sawSOF, sawExif := false, false
	pos := int64(2)
	for {
		b, err := h.at(pos, 2, "jpeg: marker")
		if err != nil {
			return Header{}, err
		}
		if b[0] != 0xFF {
			// Stray bytes between segments, which libjpeg skips too.
			if pos, err = jpegNextMarker(h, pos); err != nil {
				return Header{}, err
			}
			continue
		}
		m := b[1]
		switch {
		case m == 0xFF: // a fill byte before the marker
			pos++
			continue
		case m == jpegTEM || isRST(m) || m == 0x00:
			pos += 2
			continue
		case m == jpegSOI:
			return Header{}, corrupt("jpeg: SOI inside the image")
		case m == jpegEOI:
			return Header{}, corrupt("jpeg: no scan before EOI")
		}
		lb, err := h.at(pos+2, 2, "jpeg: segment length")
		if err != nil {
			return Header{}, err
		}
		n := int64(binary.BigEndian.Uint16(lb))
		if n < 2 {
			return Header{}, corrupt("jpeg: " + markerName(m) + ": length below 2")
		}
		switch {
		case isSOF(m):
			if sawSOF {
				return Header{}, corrupt("jpeg: second frame header")
			}
			seg, err := h.at(pos+4, n-2, "jpeg: frame header")
			if err != nil {
				return Header{}, err
			}
			if hd.Width, hd.Height, err = parseSOF(seg); err != nil {
				return Header{}, err
			}
			if hd.Height == 0 {
				return Header{}, corrupt("jpeg: height left to a DNL segment, which libjpeg does not read")
			}
			sawSOF = true
		case m == 0xE1 && !sawExif && n-2 >= 14:
			seg, err := h.at(pos+4, n-2, "jpeg: APP1 segment")
			if err != nil {
				return Header{}, err
			}
			if t, ok := bytes.CutPrefix(seg, []byte("Exif\x00\x00")); ok {
				sawExif = true
				hd.Orientation = exifOrientation(t)
			}
		case m == jpegSOS:
			if !sawSOF {
				return Header{}, corrupt("jpeg: scan before frame header")
			}
			return hd, nil
		}
		pos += 2 + n
	}
}

// jpegNextMarker returns the offset of the next 0xFF at or after pos.
func jpegNextMarker(h *hreader, pos int64) (int64, error) {
	for {
		w, err := h.at(pos, min(jpegScanWindow, h.size-pos), "jpeg: marker")
		if err != nil {
			return 0, err
		}
		if len(w) == 0 {
			return 0, truncated("jpeg: no frame header before end of file")
		}
		if i := bytes.IndexByte(w, 0xFF); i >= 0 {
			return pos + int64(i), nil
		}
		pos += int64(len(w))
	}
}
