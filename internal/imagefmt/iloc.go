package imagefmt

// reader reads big-endian unsigned fields of 0 to 8 bytes. After the first
// read past the end it returns zeros and keeps err set, so a parser can read
// a whole record and check once.
type reader struct {
	b   []byte
	pos int
	err bool
}

func (r *reader) uint(size int) uint64 {
	if r.err || len(r.b)-r.pos < size {
		r.err = true
		return 0
	}
	var v uint64
	for _, c := range r.b[r.pos : r.pos+size] {
		v = v<<8 | uint64(c)
	}
	r.pos += size
	return v
}

// ilocExtent is one extent of an item's data, as an iloc box lists it.
type ilocExtent struct {
	item        uint32
	method, ref uint64 // construction method (0 file, 1 idat); data reference (0 this file)
	base, off   uint64
	n           uint64 // 0 means "the whole resource"
	index       uint64 // the extent's position in the item's list
}

// eachExtent walks an iloc box (ISO/IEC 14496-12, 8.11.3) and calls fn
// with every extent, stopping at fn's first error. Field sizes other than
// 0, 4 or 8, an unknown construction method and entries past the box are
// corrupt. An item whose extents have no fields at all (they take no bytes
// and say nothing) is passed once, so that 65535 of them cost no time.
func eachExtent(p []byte, fn func(ilocExtent) error) error {
	v, _, body, err := fullBox(p)
	if err != nil {
		return err
	}
	if v > 2 {
		return corrupt("iloc: unknown version")
	}
	if len(body) < 2 {
		return corrupt("iloc: too short")
	}
	offSize, lenSize := int(body[0]>>4), int(body[0]&15)
	baseSize, indexSize := int(body[1]>>4), int(body[1]&15)
	if v == 0 {
		indexSize = 0 // reserved in version 0
	}
	for _, s := range [...]int{offSize, lenSize, baseSize, indexSize} {
		if s != 0 && s != 4 && s != 8 {
			return corrupt("iloc: field size is not 0, 4 or 8")
		}
	}
	idSize := 2
	if v == 2 {
		idSize = 4
	}
	r := reader{b: body, pos: 2}
	items := r.uint(idSize)
	for i := uint64(0); i < items && !r.err; i++ {
		e := ilocExtent{item: uint32(r.uint(idSize))}
		if v >= 1 {
			e.method = r.uint(2) & 15
		}
		e.ref = r.uint(2)
		e.base = r.uint(baseSize)
		extents := r.uint(2)
		if e.method > 2 {
			return corrupt("iloc: unknown construction method")
		}
		if indexSize+offSize+lenSize == 0 {
			extents = min(extents, 1)
		}
		for e.index = 0; e.index < extents && !r.err; e.index++ {
			r.uint(indexSize)
			e.off, e.n = r.uint(offSize), r.uint(lenSize)
			if r.err {
				break
			}
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	if r.err {
		return corrupt("iloc: items run past the box")
	}
	return nil
}

// checkIloc checks that every item extent stored in this file (construction
// method 0) ends inside it, and every extent in the idat box (method 1) inside
// that box. This is what catches a cut file whose last box is an mdat of size
// 0 ("to the end of the file"), which the box walk cannot.
func checkIloc(p []byte, fileLen uint64, idatLen int) error {
	return eachExtent(p, func(e ilocExtent) error {
		if e.ref != 0 || e.n == 0 {
			return nil // elsewhere, or "the whole resource"
		}
		end, ok := add3(e.base, e.off, e.n)
		switch {
		case !ok:
			return corrupt("iloc: extent overflows")
		case e.method == 0 && end > fileLen:
			return truncated("iloc: item data past end of file")
		case e.method == 1 && (idatLen < 0 || end > uint64(idatLen)):
			return corrupt("iloc: item data past end of idat")
		}
		return nil
	})
}

// add3 adds three offsets, reporting false on overflow.
func add3(a, b, c uint64) (uint64, bool) {
	s := a + b
	if s < a {
		return 0, false
	}
	t := s + c
	return t, t >= s
}
