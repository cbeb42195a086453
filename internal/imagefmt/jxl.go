package imagefmt

import (
	"encoding/binary"
	"strconv"
)

// JPEG XL (ISO/IEC 18181) comes as a bare codestream, which starts with
// FF 0A and then its size header, or in a container of ISOBMFF-style boxes:
// a signature box, ftyp with the brand "jxl ", then the codestream whole
// (jxlc) or in parts (jxlp), among metadata boxes (Exif, xml, jumb).
//
// A bare codestream has no end mark and no length, so a cut one cannot be
// told from its structure; libjxl, unlike libjpeg, refuses to finish a
// truncated stream, which is what the transform relies on. In a container
// the boxes are walked like any other, and split codestreams must end with
// the part marked last.
const (
	jxlCodestreamMagic = "\xFF\x0A"
	jxlContainerMagic  = "\x00\x00\x00\x0CJXL \r\n\x87\n"
	// jxlHeadBytes is more than the size header and the orientation need
	// (at most 13 bytes), and all of the codestream Header reads.
	jxlHeadBytes = 64
)

// isJXLMagic accepts both forms. The codestream's two bytes alone are
// little to go on, so its size header must parse as well.
func isJXLMagic(b []byte) bool {
	if len(b) >= len(jxlContainerMagic) && string(b[:len(jxlContainerMagic)]) == jxlContainerMagic {
		return true
	}
	if len(b) < 2 || string(b[:2]) != jxlCodestreamMagic {
		return false
	}
	_, _, _, err := jxlSize(b)
	return err == nil
}

// inspectJXL checks a JPEG XL file and reads its size from the
// codestream's size header.
func inspectJXL(b []byte) (Info, error) {
	if len(b) < len(jxlContainerMagic) && string(b) == jxlContainerMagic[:len(b)] ||
		len(b) < 2 && string(b) == jxlCodestreamMagic[:len(b)] {
		return Info{}, prefix(JXL, truncated("signature cut short"))
	}
	cs := b
	if len(b) >= 2 && string(b[:2]) != jxlCodestreamMagic {
		var (
			buf [jxlHeadBytes]byte // on the stack: Check allocates nothing
			err error
		)
		if cs, err = jxlContainerCodestream(b, buf[:0]); err != nil {
			return Info{}, prefix(JXL, err)
		}
	}
	w, h, _, err := jxlSize(cs)
	if err != nil {
		return Info{}, prefix(JXL, err)
	}
	return Info{Width: w, Height: h, Frames: 1}, nil
}

// jxlContainerCodestream walks a container's boxes, every one inside the
// file, and returns the start of the codestream (up to jxlHeadBytes of it,
// gathered across jxlp parts into head).
func jxlContainerCodestream(b, head []byte) ([]byte, error) {
	if len(b) < len(jxlContainerMagic) || string(b[:len(jxlContainerMagic)]) != jxlContainerMagic {
		return nil, corrupt("neither a codestream nor a container signature")
	}
	it := boxes{b: b, pos: len(jxlContainerMagic), overrun: truncated}
	var (
		whole, parts     bool
		lastPart, sawFtp bool
	)
	for {
		typ, p, ok := it.next()
		if !ok {
			break
		}
		switch t := string(typ); {
		case !sawFtp:
			if t != "ftyp" || len(p) < 4 || string(p[:4]) != "jxl " {
				return nil, corrupt("the signature box is not followed by an ftyp box of brand \"jxl \"")
			}
			sawFtp = true
		case t == "jxlc":
			if whole || parts {
				return nil, corrupt("more than one codestream")
			}
			whole = true
			head = append(head, p[:min(len(p), jxlHeadBytes)]...)
		case t == "jxlp":
			if whole || lastPart {
				return nil, corrupt("a codestream part after the last one")
			}
			if len(p) < 4 {
				return nil, corrupt("jxlp box too short for its index")
			}
			parts = true
			idx := binary.BigEndian.Uint32(p)
			lastPart = idx&0x80000000 != 0
			if n := jxlHeadBytes - len(head); n > 0 {
				head = append(head, p[4:4+min(len(p)-4, n)]...)
			}
		}
	}
	switch {
	case it.err != nil:
		return nil, it.err
	case !sawFtp:
		return nil, truncated("no ftyp box")
	case !whole && !parts:
		return nil, truncated("no codestream box")
	case parts && !lastPart:
		return nil, truncated("codestream parts end before the last one")
	}
	return head, nil
}

// jxlSize reads the codestream's signature, size header and the
// orientation from its image metadata (ISO/IEC 18181-1, A.3.1 and
// A.6): the size as coded, before the orientation, which the decoder
// applies.
func jxlSize(cs []byte) (w, h, orientation int, err error) {
	if len(cs) < 2 || string(cs[:2]) != jxlCodestreamMagic {
		return 0, 0, 0, corrupt("no codestream signature")
	}
	r := bitReader{b: cs[2:]}
	small := r.u(1) == 1
	dim := func() uint64 {
		if small {
			return (uint64(r.u(5)) + 1) * 8
		}
		bits := [4]int{9, 13, 18, 30}[r.u(2)]
		return uint64(r.u(bits)) + 1
	}
	hh := dim()
	ratio := r.u(3)
	var ww uint64
	if ratio == 0 {
		ww = dim()
	} else {
		num := [8]uint64{0, 1, 12, 4, 3, 16, 5, 2}[ratio]
		den := [8]uint64{0, 1, 10, 3, 2, 9, 4, 1}[ratio]
		ww = hh * num / den
	}
	orientation = 1
	if allDefault := r.u(1); allDefault == 0 {
		if extra := r.u(1); extra == 1 {
			orientation = int(r.u(3)) + 1
		}
	}
	if r.short {
		return 0, 0, 0, truncated("size header cut short")
	}
	// 2^30 on a side is the format's own ceiling; past it the header
	// is not one libjxl would accept either.
	if ww > 1<<30 || hh > 1<<30 {
		return 0, 0, 0, corrupt("size " + strconv.FormatUint(ww, 10) + "x" + strconv.FormatUint(hh, 10) + " is past the format's limit")
	}
	return int(ww), int(hh), orientation, nil
}

// bitReader reads JPEG XL's fields: bits least significant first within
// each byte. Reading past the end gives zeros and sets short.
type bitReader struct {
	b     []byte
	pos   int // in bits
	short bool
}

func (r *bitReader) u(n int) uint32 {
	var v uint32
	for i := range n {
		if r.pos>>3 >= len(r.b) {
			r.short = true
			return 0
		}
		v |= uint32(r.b[r.pos>>3]>>(r.pos&7)&1) << i
		r.pos++
	}
	return v
}
