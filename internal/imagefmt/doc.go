// Package imagefmt recognises image formats by their bytes and checks that an
// image file is structurally complete, without decoding pixels. libvips
// decodes a truncated JPEG without complaint, so detecting damage is our job:
// a damaged original must never be transformed, cached and served for a year.
//
// Sniff names a format from magic bytes only, never from a file name or a
// Content-Type, so an origin cannot make us serve HTML as an image. Check walks
// the container structure (markers, chunks, blocks, boxes) in linear time
// without allocating, and reports damage as an error wrapping ErrTruncated or
// ErrCorrupt. Inspect is Check plus the dimensions declared in the header, so a
// caller can refuse a decompression bomb before any decoder sees it.
package imagefmt
