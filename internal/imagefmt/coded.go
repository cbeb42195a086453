package imagefmt

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// maxCodedItems bounds the coded items whose size is checked: each costs
// a scan of ipma, ipco and iloc, since the walk allocates nothing. Real
// files have one to a few dozen (a grid's tiles, an alpha plane).
const maxCodedItems = 1024

// seqHeaderPrefix is how much of an item's data is searched for its
// sequence header, which encoders write as the first OBU.
const seqHeaderPrefix = 4096

// itemBoxes are the meta box's children the coded-size check needs.
type itemBoxes struct {
	iinf, iloc, iprp, idat []byte
	file                   []byte
}

// checkCodedSizes checks every coded item of an AVIF or HEIC file: the
// frame size its stream declares (an AV1 sequence header in the item's
// data or its av1C property's configOBUs; an HEVC sequence parameter set
// in its hvcC property or data) must be the size its ispe property
// declares, and a grid item's output size must be its ispe. It returns the sum of the
// coded items' pixels: an upper bound on what a decoder of this file can
// be made to decode.
func checkCodedSizes(m itemBoxes) (pixels int64, err error) {
	items := 0
	walkErr := eachItem(m.iinf, func(id uint32, t []byte) {
		typ := string(t)
		if err != nil || (typ != "av01" && typ != "hvc1" && typ != "grid") {
			return
		}
		if items++; items > maxCodedItems {
			err = corrupt("more than 1024 coded items")
			return
		}
		var w, h int
		var ok bool
		if w, h, ok, err = itemExtent(m.iprp, id); err != nil {
			return
		}
		if !ok {
			err = corrupt("coded item without an ispe property")
			return
		}
		data := itemData(m, id)
		var cw, ch int
		switch typ {
		case "grid":
			cw, ch, err = gridOutputSize(data)
		case "hvc1":
			cw, ch, err = hevcItemSize(itemProperty(m.iprp, id, "hvcC"), data)
		default:
			cw, ch, err = av1ItemSize(m.iprp, id, data)
		}
		if err != nil {
			return
		}
		if cw != w || ch != h {
			err = corrupt("coded size " + strconv.Itoa(cw) + "x" + strconv.Itoa(ch) + " is not the container's " +
				strconv.Itoa(w) + "x" + strconv.Itoa(h))
			return
		}
		if typ != "grid" {
			pixels += int64(w) * int64(h)
		}
	})
	if err == nil {
		err = walkErr
	}
	return pixels, err
}

// av1ItemSize is the frame size in the first sequence header of an AV1
// item: its data's own, else the one in its av1C property.
func av1ItemSize(iprp []byte, id uint32, data []byte) (w, h int, err error) {
	w, h, found, err := av1FrameSize(data)
	if err != nil || found {
		return w, h, err
	}
	if av1C := itemProperty(iprp, id, "av1C"); len(av1C) > 4 {
		if w, h, found, err = av1FrameSize(av1C[4:]); err != nil || found {
			return w, h, err
		}
	}
	return 0, 0, corrupt("av1 item without a sequence header")
}

// gridOutputSize reads an ImageGrid's output size (ISO/IEC 23008-12,
// 6.6.2.3.2): version, flags (bit 0: 32-bit fields), rows and columns
// minus one, then output width and height.
func gridOutputSize(d []byte) (w, h int, err error) {
	if len(d) < 8 || d[0] != 0 {
		return 0, 0, corrupt("grid: bad item data")
	}
	if d[1]&1 == 0 {
		return int(binary.BigEndian.Uint16(d[4:])), int(binary.BigEndian.Uint16(d[6:])), nil
	}
	if len(d) < 12 {
		return 0, 0, corrupt("grid: item data cut short")
	}
	return int(binary.BigEndian.Uint32(d[4:])), int(binary.BigEndian.Uint32(d[8:])), nil
}

// itemExtent returns the size in the ispe property associated with item.
func itemExtent(iprp []byte, id uint32) (w, h int, ok bool, err error) {
	p := itemProperty(iprp, id, "ispe")
	if p == nil {
		return 0, 0, false, nil
	}
	_, _, body, err := fullBox(p)
	if err != nil || len(body) < 8 {
		return 0, 0, false, corrupt("ispe: too short")
	}
	bw, bh := binary.BigEndian.Uint32(body), binary.BigEndian.Uint32(body[4:])
	if bw == 0 || bh == 0 || bw > 1<<31-1 || bh > 1<<31-1 {
		return 0, 0, false, corrupt("ispe: unusable size")
	}
	return int(bw), int(bh), true, nil
}

// itemProperty returns the payload of the first property of type typ
// associated with item, or nil.
func itemProperty(iprp []byte, id uint32, typ string) []byte {
	var assoc [maxAssociations]uint16
	ipco, n, _ := itemProps(iprp, id, &assoc)
	props := boxes{b: ipco, overrun: corrupt}
	for index := 1; ; index++ {
		t, payload, ok := props.next()
		if !ok {
			return nil
		}
		if string(t) == typ && contains(assoc[:n], index) {
			return payload
		}
	}
}

// itemData returns up to seqHeaderPrefix bytes of the first extent of
// item's data (checkIloc has checked that every extent lies inside the
// file or idat), or nil.
func itemData(m itemBoxes, id uint32) []byte {
	var data []byte
	eachExtent(m.iloc, func(e ilocExtent) error {
		if e.item != id || e.index != 0 {
			return nil
		}
		src := m.file
		switch e.method {
		case 1:
			src = m.idat
		case 2:
			return errFound
		}
		start, n := e.base+e.off, e.n
		if start > uint64(len(src)) {
			return errFound
		}
		if n == 0 || n > uint64(len(src))-start {
			n = uint64(len(src)) - start
		}
		data = src[start : start+min(n, seqHeaderPrefix)]
		return errFound
	})
	return data
}

// errFound stops a walk that found what it looked for.
var errFound = errors.New("found")
