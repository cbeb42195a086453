package urlsig

import (
	"errors"
	"fmt"
)

// Error kinds. The server maps them to status codes: ErrNotCanonical is 400,
// ErrNoSignature and ErrBadSignature are 403, ErrExpired is 410. The text
// after the kind describes the client's own URL, never a key.
var (
	ErrNotCanonical = errors.New("not canonical")
	ErrNoSignature  = errors.New("missing signature")
	ErrBadSignature = errors.New("signature does not match")
	ErrExpired      = errors.New("expired")
)

func errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrNotCanonical}, args...)...)
}
