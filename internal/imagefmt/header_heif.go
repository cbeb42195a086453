package imagefmt

import (
	"encoding/binary"
)

// heifHeader walks the top-level boxes by their headers alone, skipping
// mdat wherever it is, to the meta box, and reads the primary image's
// size (ispe) and what libheif does to it before libvips sees it: the
// clean aperture (clap) crops it, a rotation (irot) of 90 or 270 degrees
// swaps its sides. A mirror (imir) keeps the size.
func heifHeader(h *hreader, f Format) (Header, error) {
	for pos := int64(0); ; {
		if pos >= h.size {
			return Header{}, prefix(f, truncated("missing meta box"))
		}
		typ, size, hdr, err := h.boxAt(pos)
		if err != nil {
			return Header{}, prefix(f, err)
		}
		if pos == 0 && typ != "ftyp" {
			return Header{}, prefix(f, corrupt("first box is not ftyp"))
		}
		switch typ {
		case "ftyp":
			ftyp, err := h.at(pos, min(size, sniffLimit), "ftyp box")
			if err != nil {
				return Header{}, prefix(f, err)
			}
			if sniffFtyp(ftyp) != f {
				return Header{}, prefix(f, corrupt("ftyp brands are not "+f.String()))
			}
		case "meta":
			meta, err := h.at(pos+hdr, size-hdr, "meta box")
			if err != nil {
				return Header{}, prefix(f, err)
			}
			w, hh, err := metaSize(meta)
			if err != nil {
				return Header{}, prefix(f, err)
			}
			return Header{Format: f, Width: w, Height: hh, Orientation: 1}, nil
		}
		pos += size
	}
}

// metaSize returns the primary image's size as libheif delivers it.
func metaSize(meta []byte) (width, height int, err error) {
	_, _, body, err := fullBox(meta)
	if err != nil {
		return 0, 0, err
	}
	var iprp []byte
	primary := uint32(0)
	it := boxes{b: body, overrun: corrupt}
	for {
		typ, payload, ok := it.next()
		if !ok {
			break
		}
		switch string(typ) {
		case "pitm":
			if primary, err = parsePitm(payload); err != nil {
				return 0, 0, err
			}
		case "iprp":
			iprp = payload
		}
	}
	if it.err != nil {
		return 0, 0, it.err
	}
	if width, height, err = primaryExtent(iprp, primary); err != nil {
		return 0, 0, err
	}
	return primaryTransforms(iprp, primary, width, height)
}

// primaryTransforms applies the primary item's clap and irot properties,
// in the order the format fixes (clean aperture, then rotation), to a size.
func primaryTransforms(iprp []byte, primary uint32, w, h int) (int, int, error) {
	if primary == 0 {
		return w, h, nil
	}
	var assoc [maxAssociations]uint16
	ipco, nassoc, err := itemProps(iprp, primary, &assoc)
	if err != nil {
		return 0, 0, err
	}
	cw, ch, rot := w, h, 0
	props := boxes{b: ipco, overrun: corrupt}
	for index := 1; ; index++ {
		typ, payload, ok := props.next()
		if !ok {
			break
		}
		if !contains(assoc[:nassoc], index) {
			continue
		}
		switch string(typ) {
		case "clap":
			if len(payload) < 32 {
				return 0, 0, corrupt("clap: too short")
			}
			be := binary.BigEndian
			if x, ok := fraction(be.Uint32(payload), be.Uint32(payload[4:])); ok && x >= 1 && x <= w {
				cw = x
			}
			if y, ok := fraction(be.Uint32(payload[8:]), be.Uint32(payload[12:])); ok && y >= 1 && y <= h {
				ch = y
			}
		case "irot":
			if len(payload) < 1 {
				return 0, 0, corrupt("irot: too short")
			}
			rot = int(payload[0] & 3)
		}
	}
	if props.err != nil {
		return 0, 0, props.err
	}
	if rot == 1 || rot == 3 {
		cw, ch = ch, cw
	}
	return cw, ch, nil
}

// fraction rounds n/d as libheif does: (n + d/2) / d.
func fraction(n, d uint32) (int, bool) {
	if d == 0 || int32(n) < 0 || int32(d) < 0 {
		return 0, false
	}
	return int((uint64(n) + uint64(d)/2) / uint64(d)), true
}
