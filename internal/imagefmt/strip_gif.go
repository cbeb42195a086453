package imagefmt

// stripGIF drops comment, plain text and application extensions (XMP lives
// in one, "XMP DataXMP"), except the NETSCAPE2.0 and ANIMEXTS1.0 blocks
// that hold the loop count, and bytes after the trailer. Graphic control
// extensions (frame delays, transparency) and images stay.
func stripGIF(b []byte) ([]byte, bool) {
	k := keeper{src: b}
	pos, err := skipColourTable(b, 13, b[10])
	if err != nil {
		return nil, false
	}
	for pos < len(b) {
		start := pos
		switch b[pos] {
		case gifExtension:
			if pos+1 >= len(b) {
				return nil, false
			}
			label := b[pos+1]
			if pos, err = skipSubBlocks(b, pos+2); err != nil {
				return nil, false
			}
			if label != 0xF9 && !(label == 0xFF && loopBlock(b[start+2:pos])) {
				k.drop(start, pos)
			}
		case gifImage:
			var info Info
			if pos, err = skipImage(b, pos, &info); err != nil {
				return nil, false
			}
		case gifTrailer:
			if pos+1 < len(b) {
				k.drop(pos+1, len(b))
			}
			return k.result(), true
		default:
			return nil, false
		}
	}
	return nil, false
}

// loopBlock reports whether an application extension's sub-blocks are the
// looping extension browsers read.
func loopBlock(sub []byte) bool {
	if len(sub) < 12 || sub[0] != 11 {
		return false
	}
	id := string(sub[1:12])
	return id == "NETSCAPE2.0" || id == "ANIMEXTS1.0"
}
