// Package transform resizes and re-encodes images with libvips, in a bounded
// pool of workers. It is the only package that uses cgo and bimg: a binary
// built with CGO_ENABLED=0 keeps the package's pure-Go parts (sniffing,
// limits, geometry) and answers ErrNoLibvips to the rest, so that sign,
// verify, keygen and version work on machines without libvips.
//
// Go computes every number of a transform (plan.go); C runs the libvips
// operations for it in one call (vips.c), starting with vips_thumbnail,
// which shrinks on load and applies EXIF orientation and colour management.
// For JPEG sources Go also picks the decoder's shrink factor (jpegShrink):
// libvips keeps a factor of two for its resize, which costs a fifth more
// CPU for no visible difference. AVIF is encoded by libheif from vips.c, so
// that its encoder's threads can be set.
//
// bimg starts libvips and reports its version; its own resize pipeline
// cannot express the URL contract (rotation after EXIF orientation, crop
// position on either axis) without re-encoding rotated JPEGs.
package transform
