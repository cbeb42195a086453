package imagefmt

// Format is an image file format as recognised from its bytes.
type Format uint8

// The formats Sniff recognises. Unknown is the zero value.
const (
	Unknown Format = iota
	JPEG
	PNG
	GIF
	WebP
	AVIF
	HEIC
	TIFF
	SVG
	BMP
	JXL // JPEG XL
)

// String returns the lower-case short name ("jpeg", "png", ...), or
// "unknown" for Unknown and for values outside the list.
func (f Format) String() string {
	switch f {
	case JPEG:
		return "jpeg"
	case PNG:
		return "png"
	case GIF:
		return "gif"
	case WebP:
		return "webp"
	case AVIF:
		return "avif"
	case HEIC:
		return "heic"
	case TIFF:
		return "tiff"
	case SVG:
		return "svg"
	case BMP:
		return "bmp"
	case JXL:
		return "jxl"
	}
	return "unknown"
}

// ContentType returns the MIME type to serve the format with, or "" for
// Unknown and for values outside the list.
func (f Format) ContentType() string {
	switch f {
	case JPEG:
		return "image/jpeg"
	case PNG:
		return "image/png"
	case GIF:
		return "image/gif"
	case WebP:
		return "image/webp"
	case AVIF:
		return "image/avif"
	case HEIC:
		return "image/heic"
	case TIFF:
		return "image/tiff"
	case SVG:
		return "image/svg+xml"
	case BMP:
		return "image/bmp"
	case JXL:
		return "image/jxl"
	}
	return ""
}
