//go:build !cgo

package transform

import "context"

// Available reports whether this binary was built with libvips.
const Available = false

// LibvipsVersion returns "" in a binary built without libvips.
func LibvipsVersion() string { return "" }

func startLibvips() error                                   { return ErrNoLibvips }
func readHeader([]byte) (source, error)                     { return source{}, ErrNoLibvips }
func render(context.Context, []byte, *plan) ([]byte, error) { return nil, ErrNoLibvips }

// LibvipsMemory returns zeros in a binary built without libvips.
func LibvipsMemory() (bytes, highwater, allocs int64) { return 0, 0, 0 }

func allowSVG() {}
func allowJXL() {}

// JXLLoader reports false in a binary built without libvips.
func JXLLoader() bool { return false }

// HEICDecoder reports false in a binary built without libvips.
func HEICDecoder() bool { return false }
