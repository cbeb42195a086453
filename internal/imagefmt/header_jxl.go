package imagefmt

import (
	"errors"
	"strconv"
)

// jxlHeader reads a JPEG XL file's size and orientation from the
// codestream's first bytes: at the start of a bare codestream, or found by
// walking a container's box headers (skipping Exif and XMP boxes whatever
// their size) to the codestream box.
func jxlHeader(h *hreader) (Header, error) {
	magic, err := h.at(0, min(h.size, int64(len(jxlContainerMagic))), "signature")
	if err != nil {
		return Header{}, prefix(JXL, err)
	}
	var cs []byte
	if string(magic[:2]) == jxlCodestreamMagic {
		if cs, err = h.at(0, min(h.size, jxlHeadBytes), "size header"); err != nil {
			return Header{}, prefix(JXL, err)
		}
	} else if cs, err = jxlHeaderCodestream(h); err != nil {
		return Header{}, prefix(JXL, err)
	}
	w, hh, orientation, err := jxlSize(cs)
	if err != nil {
		return Header{}, prefix(JXL, err)
	}
	if orientation >= 5 {
		w, hh = hh, w // libjxl turns the picture before libvips sees it
	}
	return Header{Format: JXL, Width: w, Height: hh, Orientation: 1}, nil
}

// jxlHeaderCodestream returns the start of a container's codestream,
// gathered across jxlp parts until the size header is whole.
func jxlHeaderCodestream(h *hreader) ([]byte, error) {
	var head []byte
	for pos := int64(len(jxlContainerMagic)); pos < h.size; {
		typ, size, hdr, err := h.boxAt(pos)
		if err != nil {
			return nil, err
		}
		if size > h.size-pos {
			return nil, truncated("box " + strconv.Quote(typ) + ": runs past the end of the file")
		}
		payload, n := pos+hdr, size-hdr
		if typ == "jxlp" {
			payload, n = payload+4, n-4 // the part's index
		}
		if typ == "jxlc" || typ == "jxlp" {
			p, err := h.at(payload, max(0, min(n, int64(jxlHeadBytes-len(head)))), typ+" box")
			if err != nil {
				return nil, err
			}
			head = append(head, p...)
			if _, _, _, err := jxlSize(head); !errors.Is(err, ErrTruncated) {
				return head, nil // whole, or wrong in a way more bytes do not mend
			}
		}
		pos += size
	}
	if len(head) == 0 {
		return nil, truncated("no codestream box")
	}
	return nil, truncated("codestream ends within its size header")
}
