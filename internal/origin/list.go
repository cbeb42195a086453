package origin

import (
	"context"
	"fmt"
)

// Lister is an origin that can name some of its keys. serve uses it twice:
// listing one key is the startup check (one cheap request that proves the
// credentials, the bucket and the endpoint before the first image does),
// and `serve --dev` lists a few to print example URLs of images that exist.
type Lister interface {
	// List returns up to max valid object keys, in the origin's own order
	// (not sorted). An empty origin is no error.
	List(ctx context.Context, max int) ([]string, error)
}

var (
	_ Lister = (*S3)(nil)
	_ Lister = (*Dir)(nil)
)

// Check asks o for one key: an error means the origin cannot serve (wrong
// credentials, no such bucket or directory, unreachable endpoint), and says
// what to check. An origin that cannot list passes.
func Check(ctx context.Context, o Origin) error {
	l, ok := o.(Lister)
	if !ok {
		return nil
	}
	if _, err := l.List(ctx, 1); err != nil {
		return fmt.Errorf("origin check: %w", err)
	}
	return nil
}
