// Package origin owns fetching original images: the Origin interface, its
// S3 and local-directory implementations, the error kinds every
// implementation reports, and Shared, which coalesces concurrent fetches of
// one original and keeps recent ones for a moment.
package origin

import (
	"context"
	"errors"
	"time"
)

// Object is an original image as the origin stored it. It is shared between
// callers: nobody may modify Body.
type Object struct {
	Body         []byte
	ETag         string    // the origin's ETag, quotes included when it sends them; "" if none
	LastModified time.Time // zero when unknown
}

// Origin fetches originals by object key (the decoded key from the URL, e.g.
// "photos/cat.jpg").
type Origin interface {
	Fetch(ctx context.Context, key string) (*Object, error)
}

// Error kinds; every error from Fetch wraps exactly one of them, or
// context.Canceled when the caller gave up.
var (
	ErrNotFound = errors.New("original not found")
	ErrTooLarge = errors.New("original too large")
	ErrTimeout  = errors.New("origin timed out")
	ErrFailed   = errors.New("origin failed")
)
