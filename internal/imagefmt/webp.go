package imagefmt

import (
	"encoding/binary"
	"strconv"
)

// webpState is what the chunk walk has seen so far.
type webpState struct {
	info     Info
	extended bool // the first chunk was VP8X
	animated bool // VP8X declares an animation
	anim     bool // an ANIM chunk was seen
	image    bool // a VP8 or VP8L chunk was seen
}

// inspectWebP checks the RIFF header against the buffer, then walks the
// chunks inside it. Because the RIFF size covers the whole file, a cut
// download is caught right away, whatever was cut.
func inspectWebP(b []byte) (Info, error) {
	if len(b) < 12 {
		return Info{}, truncated("webp: RIFF header cut short")
	}
	if string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return Info{}, corrupt("webp: not a RIFF WEBP file")
	}
	size := uint64(binary.LittleEndian.Uint32(b[4:]))
	if size < 4 {
		return Info{}, corrupt("webp: RIFF size below 4")
	}
	if size+8 > uint64(len(b)) {
		return Info{}, truncated("webp: file shorter than its RIFF size")
	}
	var st webpState
	err := walkRIFF(b[12:size+8], func(fourcc, data []byte, first bool) error {
		return st.chunk(fourcc, data, first)
	})
	if err != nil {
		return Info{}, err
	}
	switch {
	case st.animated && st.info.Frames == 0:
		return Info{}, corrupt("webp: animation without frames")
	case !st.animated && !st.image:
		return Info{}, corrupt("webp: no image data")
	case st.info.Frames == 0:
		st.info.Frames = 1
	}
	return st.info, nil
}

// walkRIFF calls fn for each chunk in b: a FourCC, a little-endian size, the
// data, and a pad byte to an even length. A missing pad after the last chunk
// is tolerated, as libwebp does. The walk cannot be cut short by the file's
// end (the caller checked the RIFF size), so overruns are corrupt.
func walkRIFF(b []byte, fn func(fourcc, data []byte, first bool) error) error {
	for pos := 0; pos < len(b); {
		if len(b)-pos < 8 {
			return corrupt("webp: chunk header past end of its container")
		}
		n := uint64(binary.LittleEndian.Uint32(b[pos+4:]))
		if n > uint64(len(b)-pos-8) {
			return corrupt("webp: chunk " + strconv.Quote(string(b[pos:pos+4])) + ": past end of its container")
		}
		fourcc, data := b[pos:pos+4], b[pos+8:pos+8+int(n)]
		if err := fn(fourcc, data, pos == 0); err != nil {
			return err
		}
		pos += 8 + int(n) + int(n&1)
	}
	return nil
}

// chunk handles one top-level chunk.
func (st *webpState) chunk(fourcc, data []byte, first bool) error {
	if first {
		switch string(fourcc) {
		case "VP8 ", "VP8L":
		case "VP8X":
			return st.vp8x(data)
		default:
			return corrupt("webp: first chunk is not VP8, VP8L or VP8X")
		}
	}
	switch string(fourcc) {
	case "VP8 ", "VP8L":
		w, h, err := imageChunk(fourcc, data)
		if err != nil {
			return err
		}
		// A simple file's size is its bitstream's; an extended one's is
		// the VP8X canvas, which a still image's bitstream must fill
		// exactly (libwebp refuses anything else): a canvas that claims
		// less than the bitstream would pass a pixel limit it breaks.
		switch {
		case !st.extended && !st.image:
			st.info.Width, st.info.Height = w, h
		case st.extended && !st.animated && (w != st.info.Width || h != st.info.Height):
			return corrupt("webp: VP8X canvas " + strconv.Itoa(st.info.Width) + "x" + strconv.Itoa(st.info.Height) +
				" is not the bitstream's " + strconv.Itoa(w) + "x" + strconv.Itoa(h))
		}
		st.image = true
	case "ANIM":
		if len(data) < 6 {
			return corrupt("webp: ANIM chunk too short")
		}
		st.anim = true
	case "ANMF":
		// libwebp's demuxer, which libvips uses, wants ANIM before frames.
		if !st.animated || !st.anim {
			return corrupt("webp: ANMF without VP8X animation flag and ANIM")
		}
		if err := checkFrame(data, st.info.Width, st.info.Height); err != nil {
			return err
		}
		st.info.Frames++
	}
	return nil
}

// vp8x reads the extended header: flags, three reserved bytes, then the
// canvas width and height minus one, 24 bits each.
func (st *webpState) vp8x(d []byte) error {
	if len(d) < 10 {
		return corrupt("webp: VP8X chunk too short")
	}
	st.extended = true
	st.animated = d[0]&0x02 != 0
	st.info.Width = int(le24(d[4:])) + 1
	st.info.Height = int(le24(d[7:])) + 1
	return nil
}

// checkFrame checks an ANMF payload: 16 bytes of frame geometry (offset
// x/2 and y/2, width-1 and height-1, 24 bits each) and duration, then
// chunks that must include one VP8 or VP8L bitstream. The frame must lie
// inside the canvas and its bitstream must be no larger than the frame,
// as libwebp's demuxer requires.
func checkFrame(d []byte, canvasW, canvasH int) error {
	if len(d) < 16 {
		return corrupt("webp: ANMF chunk too short")
	}
	x, y := 2*int(le24(d)), 2*int(le24(d[3:]))
	fw, fh := int(le24(d[6:]))+1, int(le24(d[9:]))+1
	if x+fw > canvasW || y+fh > canvasH {
		return corrupt("webp: ANMF frame outside the canvas")
	}
	images := 0
	err := walkRIFF(d[16:], func(fourcc, data []byte, _ bool) error {
		if string(fourcc) != "VP8 " && string(fourcc) != "VP8L" {
			return nil
		}
		images++
		w, h, err := imageChunk(fourcc, data)
		if err == nil && (w > fw || h > fh) {
			err = corrupt("webp: ANMF bitstream larger than its frame")
		}
		return err
	})
	if err == nil && images != 1 {
		err = corrupt("webp: ANMF frame without exactly one image chunk")
	}
	return err
}

// imageChunk reads the dimensions from a VP8 or VP8L bitstream header.
func imageChunk(fourcc, d []byte) (width, height int, err error) {
	if string(fourcc) == "VP8L" {
		return vp8lSize(d)
	}
	return vp8Size(d)
}

// vp8Size reads a VP8 key frame header (RFC 6386, 9.1): a three-byte frame
// tag, the start code 9d 01 2a, then 14-bit width and height with two bits
// of scaling each.
func vp8Size(d []byte) (width, height int, err error) {
	if len(d) < 10 {
		return 0, 0, corrupt("webp: VP8 frame header too short")
	}
	tag := le24(d)
	switch {
	case tag&1 != 0:
		return 0, 0, corrupt("webp: VP8 frame is not a key frame")
	case tag>>1&7 > 3:
		return 0, 0, corrupt("webp: VP8 version above 3")
	case tag>>4&1 == 0:
		return 0, 0, corrupt("webp: VP8 key frame is not shown")
	case string(d[3:6]) != "\x9d\x01\x2a":
		return 0, 0, corrupt("webp: VP8 start code missing")
	case int(tag>>5) > len(d)-10:
		return 0, 0, corrupt("webp: VP8 first partition longer than its chunk")
	}
	width = int(binary.LittleEndian.Uint16(d[6:]) & 0x3fff)
	height = int(binary.LittleEndian.Uint16(d[8:]) & 0x3fff)
	if width == 0 || height == 0 {
		return 0, 0, corrupt("webp: VP8 dimensions are zero")
	}
	return width, height, nil
}

// vp8lSize reads a VP8L header: the signature 0x2f, then 14 bits each of
// width and height minus one, an alpha hint bit, and a 3-bit version that
// must be zero.
func vp8lSize(d []byte) (width, height int, err error) {
	if len(d) < 5 {
		return 0, 0, corrupt("webp: VP8L header too short")
	}
	if d[0] != 0x2f {
		return 0, 0, corrupt("webp: VP8L signature missing")
	}
	bits := binary.LittleEndian.Uint32(d[1:])
	if bits>>29 != 0 {
		return 0, 0, corrupt("webp: VP8L version is not 0")
	}
	return int(bits&0x3fff) + 1, int(bits>>14&0x3fff) + 1, nil
}

func le24(b []byte) uint32 { return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 }
