package imagefmt

// Info is what a file's headers declare, read without decoding pixels.
type Info struct {
	// Width and Height are the pixel dimensions the header declares; zero
	// where the format's dimensions are not parsed (TIFF, SVG, BMP).
	// A GIF's are its logical screen, grown to hold every frame.
	Width, Height int
	// Frames is the number of animation frames for GIF and WebP, 1 for other
	// parsed formats, and zero where dimensions are not parsed either.
	Frames int
	// Decoded is, for AVIF and HEIC, the pixels of every coded image in the file
	// (tiles, alpha planes, thumbnails) as their streams declare them: an
	// upper bound on what a decoder can be made to decode. Zero for other
	// formats, whose decoders produce Width x Height per frame.
	Decoded int64
}

// Check reports whether b is a structurally complete file of format f. For
// JPEG, PNG, GIF, WebP, AVIF and HEIC it walks every marker, chunk, block or
// box from the first to the format's end mark and checks each lies inside the
// buffer; for JPEG XL it walks a container's boxes and reads the
// codestream's size header (a bare codestream has no end mark: libjxl
// refuses a cut one); for TIFF, BMP and SVG it checks the magic and one
// cheap sign of a cut file. A nil error does not promise that the pixels decode. Errors wrap
// ErrTruncated or ErrCorrupt. Check runs in time linear in len(b) and
// allocates nothing on success. A file Check accepts as f is one Sniff names f.
func Check(b []byte, f Format) error {
	_, err := Inspect(b, f)
	return err
}

// Inspect is Check plus the dimensions and frame count the headers declare.
// A caller should refuse a file by pixel count before decoding it: headers
// are cheap to forge, and a 50000x50000 PNG is only a few kilobytes. On error
// Info is zero.
func Inspect(b []byte, f Format) (Info, error) {
	var (
		info Info
		err  error
	)
	switch f {
	case JPEG:
		info, err = inspectJPEG(b)
	case PNG:
		info, err = inspectPNG(b)
	case GIF:
		info, err = inspectGIF(b)
	case WebP:
		info, err = inspectWebP(b)
	case AVIF:
		info, err = inspectISOBMFF(b, AVIF)
	case HEIC:
		info, err = inspectISOBMFF(b, HEIC)
	case JXL:
		info, err = inspectJXL(b)
	case TIFF:
		err = checkTIFF(b)
	case SVG:
		err = checkSVG(b)
	case BMP:
		err = checkBMP(b)
	default:
		err = corrupt("unknown format")
	}
	if err != nil {
		return Info{}, err
	}
	return info, nil
}
