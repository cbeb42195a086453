package imagefmt

import "encoding/binary"

// maxAssociations bounds the properties one item may have: ipma stores the
// count in a byte.
const maxAssociations = 255

// inspectMeta checks the HEIF meta box (ISO/IEC 23008-12, a FullBox): every
// item extent in iloc lies inside the file, and the primary image has an
// image spatial extents (ispe) property, whose size it returns. For AVIF it
// also checks every coded item's size against its stream (checkCodedSizes)
// and returns their total pixels.
func inspectMeta(meta, file []byte, f Format) (width, height int, decoded int64, err error) {
	_, _, body, err := fullBox(meta)
	if err != nil {
		return 0, 0, 0, err
	}
	var iloc, iinf, iprp, idat []byte
	primary, idatLen := uint32(0), -1
	it := boxes{b: body, overrun: corrupt}
	for {
		typ, payload, ok := it.next()
		if !ok {
			break
		}
		switch string(typ) {
		case "pitm":
			if primary, err = parsePitm(payload); err != nil {
				return 0, 0, 0, err
			}
		case "iloc":
			iloc = payload
		case "iinf":
			iinf = payload
		case "iprp":
			iprp = payload
		case "idat":
			idat, idatLen = payload, len(payload)
		}
	}
	if it.err != nil {
		return 0, 0, 0, it.err
	}
	// libheif refuses a file without item information or locations.
	if iloc == nil || iinf == nil {
		return 0, 0, 0, corrupt("meta: no iloc or iinf box")
	}
	if err := checkIloc(iloc, uint64(len(file)), idatLen); err != nil {
		return 0, 0, 0, err
	}
	if width, height, err = primaryExtent(iprp, primary); err != nil {
		return 0, 0, 0, err
	}
	if f == AVIF || f == HEIC {
		decoded, err = checkCodedSizes(itemBoxes{iinf: iinf, iloc: iloc, iprp: iprp, idat: idat, file: file})
	}
	return width, height, decoded, err
}

// parsePitm returns the primary item's ID.
func parsePitm(p []byte) (uint32, error) {
	v, _, body, err := fullBox(p)
	switch {
	case err != nil:
		return 0, err
	case v == 0 && len(body) >= 2:
		return uint32(binary.BigEndian.Uint16(body)), nil
	case v != 0 && len(body) >= 4:
		return binary.BigEndian.Uint32(body), nil
	}
	return 0, corrupt("pitm: too short")
}

// primaryExtent returns the size from the ispe property associated with the
// primary item. Without a pitm or an association it falls back to the largest
// ispe: a thumbnail or an alpha plane is smaller than the image. It does not
// rely on the largest alone because a grid's tiles can be larger than the
// cropped image they make up.
func primaryExtent(iprp []byte, primary uint32) (width, height int, err error) {
	var assoc [maxAssociations]uint16
	ipco, nassoc, err := itemProps(iprp, primary, &assoc)
	if err != nil {
		return 0, 0, err
	}
	var bestW, bestH, primW, primH uint32
	primFound := false
	props := boxes{b: ipco, overrun: corrupt}
	for index := 1; ; index++ {
		typ, payload, ok := props.next()
		if !ok {
			break
		}
		if string(typ) != "ispe" {
			continue
		}
		_, _, body, err := fullBox(payload)
		if err != nil || len(body) < 8 {
			return 0, 0, corrupt("ispe: too short")
		}
		w, h := binary.BigEndian.Uint32(body), binary.BigEndian.Uint32(body[4:])
		if uint64(w)*uint64(h) > uint64(bestW)*uint64(bestH) {
			bestW, bestH = w, h
		}
		if !primFound && contains(assoc[:nassoc], index) {
			primW, primH, primFound = w, h, true
		}
	}
	if props.err != nil {
		return 0, 0, props.err
	}
	if primFound {
		bestW, bestH = primW, primH
	}
	if bestW == 0 || bestH == 0 || bestW > 1<<31-1 || bestH > 1<<31-1 {
		return 0, 0, corrupt("no usable ispe property")
	}
	return int(bestW), int(bestH), nil
}

// itemProps returns an item property container's boxes (ipco) and the
// 1-based indices of the properties associated with item (none for item
// 0, which names no item), read from iprp.
func itemProps(iprp []byte, item uint32, assoc *[maxAssociations]uint16) (ipco []byte, n int, err error) {
	it := boxes{b: iprp, overrun: corrupt}
	for {
		typ, payload, ok := it.next()
		if !ok {
			break
		}
		switch string(typ) {
		case "ipco":
			ipco = payload
		case "ipma":
			if n == 0 && item != 0 {
				if n, err = associations(payload, item, assoc); err != nil {
					return nil, 0, err
				}
			}
		}
	}
	return ipco, n, it.err
}

// associations finds item's entry in an ipma box and copies its 1-based
// property indices into out, returning how many there are (0 if the item has
// no entry).
func associations(p []byte, item uint32, out *[maxAssociations]uint16) (int, error) {
	v, flags, body, err := fullBox(p)
	if err != nil {
		return 0, err
	}
	r := reader{b: body}
	entries := r.uint(4)
	for i := uint64(0); i < entries && !r.err; i++ {
		idSize := 2
		if v >= 1 {
			idSize = 4
		}
		id := uint32(r.uint(idSize))
		n := int(r.uint(1))
		for j := 0; j < n && !r.err; j++ {
			var index uint16
			if flags&1 != 0 {
				index = uint16(r.uint(2)) & 0x7FFF
			} else {
				index = uint16(r.uint(1)) & 0x7F
			}
			out[j] = index
		}
		if id == item && !r.err {
			return n, nil
		}
	}
	if r.err {
		return 0, corrupt("ipma: entries run past the box")
	}
	return 0, nil
}

func contains(s []uint16, v int) bool {
	for _, x := range s {
		if int(x) == v {
			return true
		}
	}
	return false
}
