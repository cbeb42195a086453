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

// checkIloc checks that every item extent stored in this file (construction
// method 0) ends inside it, and every extent in the idat box (method 1) inside
// that box. This is what catches a cut file whose last box is an mdat of size
// 0 ("to the end of the file"), which the box walk cannot.
func checkIloc(p []byte, fileLen uint64, idatLen int) error {
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
		r.uint(idSize) // item ID
		method := uint64(0)
		if v >= 1 {
			method = r.uint(2) & 15
		}
		ref := r.uint(2) // data reference index: 0 is this file
		base := r.uint(baseSize)
		extents := r.uint(2)
		if method > 2 {
			return corrupt("iloc: unknown construction method")
		}
		// An extent of all zero-size fields takes no bytes and says
		// nothing; skipping the loop keeps 65535 of them per item from
		// costing time.
		if indexSize+offSize+lenSize == 0 {
			continue
		}
		for e := uint64(0); e < extents && !r.err; e++ {
			r.uint(indexSize)
			off, n := r.uint(offSize), r.uint(lenSize)
			if r.err || ref != 0 || n == 0 {
				continue // n == 0 means "the whole resource"
			}
			end, ok := add3(base, off, n)
			switch {
			case !ok:
				return corrupt("iloc: extent overflows")
			case method == 0 && end > fileLen:
				return truncated("iloc: item data past end of file")
			case method == 1 && (idatLen < 0 || end > uint64(idatLen)):
				return corrupt("iloc: item data past end of idat")
			}
		}
	}
	if r.err {
		return corrupt("iloc: items run past the box")
	}
	return nil
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
