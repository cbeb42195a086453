package imagefmt

import (
	"encoding/binary"
	"strconv"
)

// GIF block introducers (GIF89a spec, appendix A).
const (
	gifExtension = 0x21
	gifImage     = 0x2C
	gifTrailer   = 0x3B
)

// inspectGIF walks the blocks from the logical screen descriptor to the
// trailer, counting image descriptors as frames. The size is the logical
// screen's, grown to hold every frame. It skips the LZW data by its
// sub-block lengths without decompressing it.
func inspectGIF(b []byte) (Info, error) {
	const header = 13 // signature, then the logical screen descriptor
	if len(b) < header {
		return Info{}, truncated("gif: header cut short")
	}
	if sig := string(b[:6]); sig != "GIF87a" && sig != "GIF89a" {
		return Info{}, corrupt("gif: bad signature")
	}
	info := Info{
		Width:  int(binary.LittleEndian.Uint16(b[6:])),
		Height: int(binary.LittleEndian.Uint16(b[8:])),
	}
	pos, err := skipColourTable(b, header, b[10])
	if err != nil {
		return Info{}, err
	}
	for {
		if pos >= len(b) {
			return Info{}, truncated("gif: missing trailer")
		}
		switch b[pos] {
		case gifExtension:
			// Introducer, label, then data sub-blocks.
			pos, err = skipSubBlocks(b, pos+2)
		case gifImage:
			info.Frames++
			pos, err = skipImage(b, pos, &info)
		case gifTrailer:
			if info.Frames == 0 {
				return Info{}, corrupt("gif: no image")
			}
			if info.Width == 0 || info.Height == 0 {
				return Info{}, corrupt("gif: no pixels")
			}
			return info, nil
		default:
			return Info{}, corrupt("gif: unknown block introducer 0x" +
				strconv.FormatUint(uint64(b[pos]), 16) + " at offset " + strconv.Itoa(pos))
		}
		if err != nil {
			return Info{}, err
		}
	}
}

// skipImage skips an image descriptor at pos: the introducer, nine bytes of
// position, size and flags, an optional local colour table, the LZW minimum
// code size, then the data sub-blocks. A frame reaching past the logical
// screen grows info's size, as libnsgif grows its canvas, so that a pixel
// limit on Info sees what the decoder will allocate.
func skipImage(b []byte, pos int, info *Info) (int, error) {
	if len(b)-pos < 10 {
		return 0, truncated("gif: image descriptor cut short")
	}
	le := binary.LittleEndian
	info.Width = max(info.Width, int(le.Uint16(b[pos+1:]))+int(le.Uint16(b[pos+5:])))
	info.Height = max(info.Height, int(le.Uint16(b[pos+3:]))+int(le.Uint16(b[pos+7:])))
	pos, err := skipColourTable(b, pos+10, b[pos+9])
	if err != nil {
		return 0, err
	}
	if pos >= len(b) {
		return 0, truncated("gif: LZW code size missing")
	}
	if c := b[pos]; c < 2 || c > 12 {
		return 0, corrupt("gif: LZW minimum code size " + strconv.Itoa(int(c)))
	}
	return skipSubBlocks(b, pos+1)
}

// skipColourTable skips the colour table that flags announces (bit 7 set:
// present, low three bits: 2^(n+1) entries of three bytes).
func skipColourTable(b []byte, pos int, flags byte) (int, error) {
	if flags&0x80 == 0 {
		return pos, nil
	}
	pos += 3 << (flags&7 + 1)
	if pos > len(b) {
		return 0, truncated("gif: colour table cut short")
	}
	return pos, nil
}

// skipSubBlocks skips length-prefixed sub-blocks up to and including the
// zero-length terminator. A position past the end (a cut label byte) is
// reported the same way as a cut block.
func skipSubBlocks(b []byte, pos int) (int, error) {
	for {
		if pos >= len(b) {
			return 0, truncated("gif: data sub-blocks cut short")
		}
		n := int(b[pos])
		pos += 1 + n
		if n == 0 {
			return pos, nil
		}
	}
}
