package imagefmt

import "errors"

// Error kinds. Every error from Check and Inspect wraps exactly one of them;
// the text after the kind says where the structure broke, for the log.
var (
	// ErrTruncated means the bytes end before the structure does: a cut
	// download, or an object still being written.
	ErrTruncated = errors.New("image is truncated")
	// ErrCorrupt means the structure is broken or is not the format asked for.
	ErrCorrupt = errors.New("image is corrupt")
)

// formatError pairs a kind with a short reason. It is a type rather than
// fmt.Errorf so that building one costs a single small allocation and no
// formatting; the reasons are built only on the error path.
type formatError struct {
	kind   error
	reason string
}

func (e *formatError) Error() string { return e.kind.Error() + ": " + e.reason }

func (e *formatError) Unwrap() error { return e.kind }

func truncated(reason string) error { return &formatError{kind: ErrTruncated, reason: reason} }

func corrupt(reason string) error { return &formatError{kind: ErrCorrupt, reason: reason} }
