package imagefmt

// StripMetadata returns b without the metadata a photograph carries (EXIF
// with its GPS position and serial numbers, XMP, IPTC, comments, text
// chunks, maker notes), removed without decoding a pixel, and ok true. It
// keeps what displaying the pixels needs: an ICC profile, the Adobe
// colour-transform flag, PNG's gamma and chromaticities, animation control.
// A file without such metadata comes back as b itself, not a copy.
//
// ok is false when the metadata cannot be removed losslessly, and the file
// must be re-encoded instead: AVIF and TIFF carrying metadata (removing an
// item from an ISOBMFF file means rewriting every offset), and any file
// whose EXIF orientation is not 1, whose pixels a browser would show
// rotated (or not, depending on the browser) once the tag is gone.
//
// b must have passed Check as f; a structure StripMetadata does not expect
// also answers ok false.
func StripMetadata(b []byte, f Format) (out []byte, ok bool) {
	switch f {
	case JPEG:
		return stripJPEG(b)
	case PNG:
		return stripPNG(b)
	case WebP:
		return stripWebP(b)
	case GIF:
		return stripGIF(b)
	case AVIF:
		if hasMetadataItems(b) {
			return nil, false
		}
		return b, true
	}
	return nil, false
}

// keeper collects the parts of a file that stay, copying only once the
// first part is dropped: a clean file costs one walk and no allocation.
type keeper struct {
	src  []byte
	out  []byte
	next int  // src[next:] is not yet decided
	cut  bool // something was dropped
}

// drop removes src[from:to]; everything before from since the last drop
// is kept.
func (k *keeper) drop(from, to int) {
	if !k.cut {
		k.out = make([]byte, 0, len(k.src))
		k.cut = true
	}
	k.out = append(k.out, k.src[k.next:from]...)
	k.next = to
}

// result is the file with every dropped range removed.
func (k *keeper) result() []byte {
	if !k.cut {
		return k.src
	}
	return append(k.out, k.src[k.next:]...)
}
