package imagefmt

import (
	"encoding/binary"
	"strconv"
)

// boxes iterates over the ISOBMFF boxes (ISO/IEC 14496-12, 4.2) packed in a
// byte range: a 32-bit size and a type, a 64-bit size after the type when the
// 32-bit one is 1, and a size of 0 meaning "to the end of the range".
type boxes struct {
	b   []byte
	pos int
	// overrun is the error for a box that does not fit. At the top level
	// the range is the file, so that is truncation; inside a box whose own
	// size fits, it is corruption.
	overrun func(reason string) error
	err     error
}

// next returns the next box's type and payload, or ok false at the end of the
// range or on error (then b.err is set).
func (it *boxes) next() (typ, payload []byte, ok bool) {
	if it.err != nil || it.pos >= len(it.b) {
		return nil, nil, false
	}
	rest := it.b[it.pos:]
	if len(rest) < 8 {
		it.err = it.overrun("box header cut short")
		return nil, nil, false
	}
	size, hdr := uint64(binary.BigEndian.Uint32(rest)), uint64(8)
	typ = rest[4:8]
	switch size {
	case 0:
		size = uint64(len(rest))
	case 1:
		if len(rest) < 16 {
			it.err = it.overrun("box " + strconv.Quote(string(typ)) + ": 64-bit size cut short")
			return nil, nil, false
		}
		size, hdr = binary.BigEndian.Uint64(rest[8:]), 16
	}
	if size < hdr {
		it.err = corrupt("box " + strconv.Quote(string(typ)) + ": size smaller than its header")
		return nil, nil, false
	}
	if size > uint64(len(rest)) {
		it.err = it.overrun("box " + strconv.Quote(string(typ)) + ": runs past its container")
		return nil, nil, false
	}
	it.pos += int(size)
	return typ, rest[hdr:size], true
}

// fullBox strips the version and flags of a FullBox payload.
func fullBox(p []byte) (version byte, flags uint32, body []byte, err error) {
	if len(p) < 4 {
		return 0, 0, nil, corrupt("full box too short for version and flags")
	}
	return p[0], binary.BigEndian.Uint32(p) & 0xFFFFFF, p[4:], nil
}

// inspectISOBMFF checks an AVIF or HEIC file: ftyp first with brands of
// format f, then meta and mdat somewhere among the top-level boxes, each box
// inside the file. It then checks meta: item locations inside the file and an
// image size property.
func inspectISOBMFF(b []byte, f Format) (Info, error) {
	if len(b) < 8 {
		return Info{}, prefix(f, truncated("ftyp box cut short"))
	}
	if string(b[4:8]) != "ftyp" {
		return Info{}, prefix(f, corrupt("first box is not ftyp"))
	}
	top := boxes{b: b, overrun: truncated}
	var meta []byte
	sawFtyp, sawMdat := false, false
	for {
		typ, payload, ok := top.next()
		if !ok {
			break
		}
		switch string(typ) {
		case "ftyp":
			if sawFtyp {
				return Info{}, prefix(f, corrupt("second ftyp box"))
			}
			sawFtyp = true
			// The same rule as Sniff, so that a file Check accepts as f
			// is one Sniff names f.
			if sniffFtyp(b[:min(len(b), sniffLimit)]) != f {
				return Info{}, prefix(f, corrupt("ftyp brands are not "+f.String()))
			}
		case "meta":
			if meta != nil {
				return Info{}, prefix(f, corrupt("second meta box"))
			}
			meta = payload
		case "mdat":
			sawMdat = true
		}
	}
	if top.err != nil {
		return Info{}, prefix(f, top.err)
	}
	// Either box may come last, so a file cut at a box boundary lacks it.
	if meta == nil || !sawMdat {
		return Info{}, prefix(f, truncated("missing meta or mdat box"))
	}
	w, h, decoded, err := inspectMeta(meta, b, f)
	if err != nil {
		return Info{}, prefix(f, err)
	}
	return Info{Width: w, Height: h, Frames: 1, Decoded: decoded}, nil
}

// prefix puts the format's name in front of the reason, as the other
// formats' errors have it; the box helpers are shared by AVIF and HEIC.
func prefix(f Format, err error) error {
	if fe, ok := err.(*formatError); ok {
		fe.reason = f.String() + ": " + fe.reason
	}
	return err
}
