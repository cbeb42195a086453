package transform

import (
	"errors"
	"fmt"
)

// Error kinds; the server maps them to status codes.
var (
	// ErrUnsupported: not an image, or a format that is not accepted (415).
	ErrUnsupported = errors.New("unsupported image format")
	// ErrCorrupt: truncated or damaged, or libvips could not decode it (422).
	ErrCorrupt = errors.New("corrupt image")
	// ErrTooLarge: too many source pixels, or an output over the limits (413).
	ErrTooLarge = errors.New("image too large")
	// ErrSourceTooLarge is the ErrTooLarge of the original itself (pixels,
	// frames), whatever the parameters: a verdict on the file, where
	// ErrTooLarge alone may be about one variant's output.
	ErrSourceTooLarge = fmt.Errorf("source %w", ErrTooLarge)
	// ErrOverloaded: the queue is full or the wait for a worker timed out (503).
	ErrOverloaded = errors.New("transform queue full")
	// ErrNoLibvips: the binary was built without cgo.
	ErrNoLibvips = errors.New("this imgproxy was built without libvips (CGO_ENABLED=0); serve needs the libvips build")
)
