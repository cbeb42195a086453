package origin

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// validKey reports whether key is an object key any origin may look up: not
// empty, no leading slash, no empty, "." or ".." segment, no NUL byte. The
// URL layer refuses such keys already; origins check again so that Fetch is
// safe on its own (a ".." must not leave the directory, the key prefix or
// the bucket). Anything else is an ordinary name.
func validKey(key string) bool {
	if key == "" || strings.IndexByte(key, 0) >= 0 {
		return false
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// errInvalidKey is the not-found error for a key that validKey refuses.
func errInvalidKey(key string) error {
	return fmt.Errorf("%w: invalid key %q", ErrNotFound, key)
}

// ctxError turns a finished context into the error kind Fetch reports: a
// deadline is ErrTimeout, a cancellation stays context.Canceled.
func ctxError(ctx context.Context, key string) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: fetching %q", ErrTimeout, key)
	}
	return fmt.Errorf("fetching %q: %w", key, err)
}
