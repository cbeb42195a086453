package imagefmt

import "encoding/binary"

// maxTIFFEntries bounds the entries of IFD0 read; real ones have a few
// dozen.
const maxTIFFEntries = 4096

// tiffHeader reads ImageWidth, ImageLength and Orientation from the first
// IFD (the first page, which libvips reads), wherever the writer put it.
func tiffHeader(h *hreader) (Header, error) {
	b, err := h.at(0, 8, "tiff: header")
	if err != nil {
		return Header{}, err
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if b[0] == 'M' {
		bo = binary.BigEndian
	}
	big := bo.Uint16(b[2:]) == 43
	var ifd, count int64
	entry := int64(12)
	if big {
		b, err = h.at(0, 16, "tiff: BigTIFF header")
		if err != nil {
			return Header{}, err
		}
		if bo.Uint16(b[4:]) != 8 || bo.Uint16(b[6:]) != 0 {
			return Header{}, corrupt("tiff: bad BigTIFF header")
		}
		ifd, entry = int64(bo.Uint64(b[8:])), 20
		if ifd < 16 {
			return Header{}, corrupt("tiff: first IFD offset inside the header")
		}
		c, err := h.at(ifd, 8, "tiff: IFD0")
		if err != nil {
			return Header{}, err
		}
		count, ifd = int64(bo.Uint64(c)), ifd+8
	} else {
		ifd = int64(bo.Uint32(b[4:]))
		if ifd < 8 {
			return Header{}, corrupt("tiff: first IFD offset inside the header")
		}
		c, err := h.at(ifd, 2, "tiff: IFD0")
		if err != nil {
			return Header{}, err
		}
		count, ifd = int64(bo.Uint16(c)), ifd+2
	}
	if count == 0 || count > maxTIFFEntries {
		return Header{}, corrupt("tiff: IFD0 entry count out of range")
	}
	es, err := h.at(ifd, count*entry, "tiff: IFD0 entries")
	if err != nil {
		return Header{}, err
	}
	hd := Header{Format: TIFF, Orientation: 1}
	for i := int64(0); i < count; i++ {
		e := es[i*entry:]
		tag, typ := bo.Uint16(e), bo.Uint16(e[2:])
		var n uint64
		var v []byte // the value field, where a single SHORT or LONG sits
		if big {
			n, v = bo.Uint64(e[4:]), e[12:20]
		} else {
			n, v = uint64(bo.Uint32(e[4:])), e[8:12]
		}
		if n != 1 || (tag != 256 && tag != 257 && tag != 274) {
			continue
		}
		var val int
		switch typ {
		case 3: // SHORT
			val = int(bo.Uint16(v))
		case 4: // LONG
			val = int(bo.Uint32(v))
		default:
			continue
		}
		switch tag {
		case 256:
			hd.Width = val
		case 257:
			hd.Height = val
		case 274:
			hd.Orientation = val
		}
	}
	if hd.Width <= 0 || hd.Height <= 0 {
		return Header{}, corrupt("tiff: no ImageWidth or ImageLength in IFD0")
	}
	return hd, nil
}
