package imagefmt

import (
	"encoding/binary"
	"hash/crc32"
	"strconv"
)

const pngSignature = "\x89PNG\r\n\x1a\n"

// pngState is what the chunk walk has seen so far.
type pngState struct {
	colourType byte
	palette    bool // a PLTE chunk was seen
	idats      int
}

// inspectPNG walks the chunks from the signature to IEND, verifying each
// chunk's CRC. hash/crc32 uses the CPU's carry-less multiply where there is
// one, so this runs at several GB/s. Data after IEND is allowed.
func inspectPNG(b []byte) (Info, error) {
	if len(b) < len(pngSignature) {
		return Info{}, truncated("png: signature cut short")
	}
	if string(b[:len(pngSignature)]) != pngSignature {
		return Info{}, corrupt("png: bad signature")
	}
	info := Info{Frames: 1}
	var st pngState
	for pos := len(pngSignature); ; {
		if len(b)-pos < 8 {
			return Info{}, truncated("png: missing IEND")
		}
		n := binary.BigEndian.Uint32(b[pos:])
		typ := b[pos+4 : pos+8]
		if n > 1<<31-1 {
			return Info{}, corrupt("png: chunk length above 2^31-1")
		}
		if !isChunkType(typ) {
			return Info{}, corrupt("png: bad chunk type " + strconv.Quote(string(typ)))
		}
		first := pos == len(pngSignature)
		if first != (string(typ) == "IHDR") {
			return Info{}, corrupt("png: chunk " + string(typ) + ": IHDR must come first, once")
		}
		if uint64(n)+4 > uint64(len(b)-pos-8) {
			return Info{}, truncated("png: chunk " + string(typ) + ": runs past end of file")
		}
		body := b[pos+4 : pos+8+int(n)] // type and data: what the CRC covers
		if crc32.ChecksumIEEE(body) != binary.BigEndian.Uint32(b[pos+8+int(n):]) {
			return Info{}, corrupt("png: chunk " + string(typ) + ": bad CRC")
		}
		pos += 12 + int(n)
		data := body[4:]
		switch string(typ) {
		case "IHDR":
			w, h, err := st.header(data)
			if err != nil {
				return Info{}, err
			}
			info.Width, info.Height = w, h
		case "PLTE":
			if err := st.plte(data); err != nil {
				return Info{}, err
			}
		case "IDAT":
			if st.colourType == 3 && !st.palette {
				return Info{}, corrupt("png: IDAT before PLTE in a palette image")
			}
			st.idats++
		case "IEND":
			if st.idats == 0 {
				return Info{}, corrupt("png: no IDAT")
			}
			return info, nil
		default:
			// Bit 5 of the first byte is clear for critical chunks, which a
			// decoder must understand; libpng refuses unknown ones.
			if typ[0]&0x20 == 0 {
				return Info{}, corrupt("png: unknown critical chunk " + string(typ))
			}
		}
	}
}

// header validates IHDR: 13 bytes, non-zero dimensions within 2^31-1, and a
// bit depth allowed for the colour type (PNG spec, table 11.1).
func (st *pngState) header(d []byte) (width, height int, err error) {
	if len(d) != 13 {
		return 0, 0, corrupt("png: IHDR length is not 13")
	}
	w, h := binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:])
	if w == 0 || h == 0 || w > 1<<31-1 || h > 1<<31-1 {
		return 0, 0, corrupt("png: IHDR dimensions out of range")
	}
	depth, colour := d[8], d[9]
	var ok bool
	switch colour {
	case 0: // greyscale
		ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16
	case 3: // palette
		ok = depth == 1 || depth == 2 || depth == 4 || depth == 8
	case 2, 4, 6: // truecolour, greyscale+alpha, truecolour+alpha
		ok = depth == 8 || depth == 16
	}
	if !ok {
		return 0, 0, corrupt("png: IHDR bit depth " + strconv.Itoa(int(depth)) +
			" with colour type " + strconv.Itoa(int(colour)))
	}
	if d[10] != 0 || d[11] != 0 || d[12] > 1 {
		return 0, 0, corrupt("png: IHDR compression, filter or interlace method unknown")
	}
	st.colourType = colour
	return int(w), int(h), nil
}

// plte validates a palette where the image needs one. A PLTE in a greyscale
// or truecolour image is only a suggestion, which libpng ignores, so it is
// not judged here either.
func (st *pngState) plte(d []byte) error {
	if st.colourType != 3 {
		return nil
	}
	switch {
	case st.palette:
		return corrupt("png: second PLTE")
	case st.idats > 0:
		return corrupt("png: PLTE after IDAT")
	case len(d) == 0 || len(d) > 3*256 || len(d)%3 != 0:
		return corrupt("png: PLTE length is not 3 to 768 bytes in steps of 3")
	}
	st.palette = true
	return nil
}

// isChunkType reports whether every byte of t is an ASCII letter.
func isChunkType(t []byte) bool {
	for _, c := range t {
		if c|0x20 < 'a' || c|0x20 > 'z' {
			return false
		}
	}
	return true
}
