package imagefmt

// HEVC's sequence parameter set (ITU-T H.265, 7.3.2.2) declares the
// picture the decoder allocates. A HEIC file says its size in the
// container (ispe) too; as for AVIF, the walk reads both and refuses a
// file where they differ.

const hevcNALSPS = 33

// hevcItemSize returns the cropped picture size of the first SPS in an
// hvcC property's parameter set arrays, or in the item's own data (NAL
// units with length prefixes), which a decoder would read after it.
func hevcItemSize(hvcC, data []byte) (w, h int, err error) {
	// hvcC: 22 bytes of profile and configuration (lengthSizeMinusOne in
	// the low two bits of byte 21), then numOfArrays and the arrays.
	if len(hvcC) < 23 {
		return 0, 0, corrupt("hvcC: too short")
	}
	lenSize := int(hvcC[21]&3) + 1
	found := false
	p := hvcC[23:]
	for n := int(hvcC[22]); n > 0; n-- {
		if len(p) < 3 {
			return 0, 0, corrupt("hvcC: parameter set array cut short")
		}
		typ, count := p[0]&0x3f, int(p[1])<<8|int(p[2])
		p = p[3:]
		for ; count > 0; count-- {
			if len(p) < 2 {
				return 0, 0, corrupt("hvcC: NAL unit cut short")
			}
			size := int(p[0])<<8 | int(p[1])
			if size > len(p)-2 {
				return 0, 0, corrupt("hvcC: NAL unit past the box")
			}
			if typ == hevcNALSPS && !found {
				if w, h, err = spsSize(p[2 : 2+size]); err != nil {
					return 0, 0, err
				}
				found = true
			}
			p = p[2+size:]
		}
	}
	// An SPS in the item's data replaces the configuration's.
	for d := data; len(d) >= lenSize; {
		var size int
		for _, c := range d[:lenSize] {
			size = size<<8 | int(c)
		}
		d = d[lenSize:]
		if size > len(d) || size < 2 {
			break // the caller's prefix ends here, or the data is not NALs
		}
		if d[0]>>1&0x3f == hevcNALSPS {
			if w, h, err = spsSize(d[:size]); err != nil {
				return 0, 0, err
			}
			found = true
		}
		d = d[size:]
	}
	if !found {
		return 0, 0, corrupt("hevc item without a sequence parameter set")
	}
	return w, h, nil
}

// spsSize reads an SPS NAL unit (with its two-byte header) up to the
// picture size and conformance window, and returns the cropped size.
func spsSize(nal []byte) (w, h int, err error) {
	if len(nal) < 3 {
		return 0, 0, corrupt("hevc: SPS too short")
	}
	var buf [256]byte
	r := bits{b: unescapeRBSP(buf[:0], nal[2:])}
	r.read(4) // sps_video_parameter_set_id
	subLayers := int(r.read(3))
	r.read(1) // sps_temporal_id_nesting_flag
	// profile_tier_level(1, subLayers): 2+1+5 + 32 + 48 + 8 bits.
	r.read(8)
	r.read(32)
	r.read(48)
	r.read(8)
	var profile, level [8]bool
	for i := 0; i < subLayers; i++ {
		profile[i], level[i] = r.read(1) == 1, r.read(1) == 1
	}
	if subLayers > 0 {
		for i := subLayers; i < 8; i++ {
			r.read(2)
		}
	}
	for i := 0; i < subLayers; i++ {
		if profile[i] {
			r.read(88)
		}
		if level[i] {
			r.read(8)
		}
	}
	r.ue() // sps_seq_parameter_set_id
	chroma := r.ue()
	if chroma == 3 {
		r.read(1) // separate_colour_plane_flag
	}
	pw, ph := r.ue(), r.ue()
	subW, subH := uint64(1), uint64(1)
	switch chroma {
	case 1:
		subW, subH = 2, 2
	case 2:
		subW = 2
	}
	var left, right, top, bottom uint64
	if r.read(1) == 1 { // conformance_window_flag
		left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
	}
	cw, ch := subW*(left+right), subH*(top+bottom)
	switch {
	case r.bad:
		return 0, 0, corrupt("hevc: SPS cut short")
	case chroma > 3 || pw == 0 || ph == 0 || pw > 1<<20 || ph > 1<<20 || cw >= pw || ch >= ph:
		return 0, 0, corrupt("hevc: SPS picture size out of range")
	}
	return int(pw - cw), int(ph - ch), nil
}

// ue reads an unsigned exp-Golomb code (H.265, 9.2), at most 32 bits.
func (r *bits) ue() uint64 {
	zeros := 0
	for !r.bad && r.read(1) == 0 {
		if zeros++; zeros > 32 {
			r.bad = true
			return 0
		}
	}
	return (1<<zeros - 1) + r.read(zeros)
}

// unescapeRBSP appends to out (whose capacity bounds the bytes taken: enough
// for the fields read) a NAL unit's payload without its emulation
// prevention bytes (00 00 03 -> 00 00).
func unescapeRBSP(out, b []byte) []byte {
	zeros := 0
	for _, c := range b {
		if len(out) == cap(out) {
			break
		}
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}
