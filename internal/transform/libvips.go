//go:build cgo

// Package transform is the only package that touches libvips (through bimg,
// and so cgo). In a binary built with CGO_ENABLED=0 it holds only the
// answers to "is libvips here?", so sign, verify, keygen and version still
// build for machines without libvips.
package transform

import "github.com/h2non/bimg"

// Available reports whether this binary was built with libvips.
const Available = true

// LibvipsVersion returns the version of the libvips the binary was built with.
func LibvipsVersion() string { return bimg.VipsVersion }
