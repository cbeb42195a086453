package imagefmt

import "encoding/binary"

// gifHeader reads the logical screen, grown to hold the first frame as
// Inspect grows it for every frame. Later frames that reach past the
// screen are not seen: that would take the whole file.
func gifHeader(h *hreader) (Header, error) {
	b, err := h.at(0, 13, "gif: header")
	if err != nil {
		return Header{}, err
	}
	info := Info{Width: int(binary.LittleEndian.Uint16(b[6:])), Height: int(binary.LittleEndian.Uint16(b[8:]))}
	pos := int64(13)
	if b[10]&0x80 != 0 {
		pos += 3 << (b[10]&7 + 1)
	}
	for {
		c, err := h.at(pos, 1, "gif: block")
		if err != nil {
			return Header{}, err
		}
		switch c[0] {
		case gifExtension:
			// Introducer, label, then data sub-blocks.
			for pos += 2; ; {
				n, err := h.at(pos, 1, "gif: sub-block")
				if err != nil {
					return Header{}, err
				}
				pos += 1 + int64(n[0])
				if n[0] == 0 {
					break
				}
			}
		case gifImage:
			d, err := h.at(pos, 10, "gif: image descriptor")
			if err != nil {
				return Header{}, err
			}
			le := binary.LittleEndian
			info.Width = max(info.Width, int(le.Uint16(d[1:]))+int(le.Uint16(d[5:])))
			info.Height = max(info.Height, int(le.Uint16(d[3:]))+int(le.Uint16(d[7:])))
			if info.Width == 0 || info.Height == 0 {
				return Header{}, corrupt("gif: no pixels")
			}
			return Header{Format: GIF, Width: info.Width, Height: info.Height, Orientation: 1}, nil
		case gifTrailer:
			return Header{}, corrupt("gif: no image")
		default:
			return Header{}, corrupt("gif: unknown block introducer")
		}
	}
}
