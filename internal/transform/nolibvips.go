//go:build !cgo

// Package transform is the only package that touches libvips (through bimg,
// and so cgo). In a binary built with CGO_ENABLED=0 it holds only the
// answers to "is libvips here?", so sign, verify, keygen and version still
// build for machines without libvips.
package transform

// Available reports whether this binary was built with libvips.
const Available = false

// LibvipsVersion returns "" in a binary built without libvips.
func LibvipsVersion() string { return "" }
