package imagefmt

// AV1's sequence header (AV1 bitstream specification, 5.5) declares the
// largest frame the decoder will allocate. An AVIF file says its size
// twice: in the container (the ispe property) and in the coded stream. A
// file whose ispe claims 100x100 over an 8000x8000 stream passes a check
// of the container alone and makes libheif decode 64 megapixels, so the
// walk reads both and refuses a file where they differ.

const obuSequenceHeader = 1

// bits reads a big-endian bit string; past the end it returns zeros and
// sets bad.
type bits struct {
	b   []byte
	pos int // in bits
	bad bool
}

func (r *bits) read(n int) uint64 {
	var v uint64
	for range n {
		if r.pos >= 8*len(r.b) {
			r.bad = true
			return 0
		}
		v = v<<1 | uint64(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

// uvlc reads a variable-length unsigned code (4.10.3).
func (r *bits) uvlc() {
	zeros := 0
	for !r.bad && r.read(1) == 0 {
		zeros++
		if zeros >= 32 {
			return
		}
	}
	r.read(zeros)
}

// av1FrameSize finds the first sequence header among the OBUs in b and
// returns its max_frame_width and max_frame_height. found is false when b
// holds no sequence header; a malformed OBU or header is an error.
func av1FrameSize(b []byte) (width, height int, found bool, err error) {
	for len(b) > 0 {
		h := b[0]
		if h&0x80 != 0 {
			return 0, 0, false, corrupt("av1: OBU forbidden bit set")
		}
		typ, ext, hasSize := h>>3&15, int(h>>2&1), h>>1&1 == 1
		p := 1 + ext
		if p > len(b) {
			return 0, 0, false, corrupt("av1: OBU header cut short")
		}
		size := uint64(len(b) - p)
		if hasSize {
			var n int
			if size, n = leb128(b[p:]); n == 0 {
				return 0, 0, false, corrupt("av1: bad OBU size")
			}
			p += n
		}
		if size > uint64(len(b)-p) {
			if typ != obuSequenceHeader {
				return 0, 0, false, nil // cut by the caller's prefix, not by the file
			}
			return 0, 0, false, corrupt("av1: sequence header cut short")
		}
		if typ == obuSequenceHeader {
			w, h, err := sequenceHeaderSize(b[p : p+int(size)])
			return w, h, err == nil, err
		}
		b = b[p+int(size):]
	}
	return 0, 0, false, nil
}

// leb128 reads an unsigned LEB128 of at most 8 bytes (4.10.5), returning
// the number of bytes read, or 0 if it is malformed.
func leb128(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < 8 && i < len(b); i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}

// sequenceHeaderSize reads a sequence_header_obu up to the frame size
// fields (5.5.1).
func sequenceHeaderSize(p []byte) (width, height int, err error) {
	r := bits{b: p}
	r.read(3)           // seq_profile
	r.read(1)           // still_picture
	if r.read(1) == 1 { // reduced_still_picture_header
		r.read(5) // seq_level_idx[0]
	} else {
		decoderModel := false
		var delayLen int
		if r.read(1) == 1 { // timing_info_present_flag
			r.read(32)          // num_units_in_display_tick
			r.read(32)          // time_scale
			if r.read(1) == 1 { // equal_picture_interval
				r.uvlc()
			}
			if r.read(1) == 1 { // decoder_model_info_present_flag
				decoderModel = true
				delayLen = int(r.read(5)) + 1 // buffer_delay_length_minus_1
				r.read(32)                    // num_units_in_decoding_tick
				r.read(5)                     // buffer_removal_time_length_minus_1
				r.read(5)                     // frame_presentation_time_length_minus_1
			}
		}
		displayDelay := r.read(1) == 1
		ops := int(r.read(5)) + 1
		for range ops {
			r.read(12)         // operating_point_idc
			if r.read(5) > 7 { // seq_level_idx
				r.read(1) // seq_tier
			}
			if decoderModel && r.read(1) == 1 {
				r.read(delayLen) // decoder_buffer_delay
				r.read(delayLen) // encoder_buffer_delay
				r.read(1)        // low_delay_mode_flag
			}
			if displayDelay && r.read(1) == 1 {
				r.read(4) // initial_display_delay_minus_1
			}
		}
	}
	wbits, hbits := int(r.read(4))+1, int(r.read(4))+1
	width, height = int(r.read(wbits))+1, int(r.read(hbits))+1
	if r.bad {
		return 0, 0, corrupt("av1: sequence header cut short")
	}
	return width, height, nil
}
