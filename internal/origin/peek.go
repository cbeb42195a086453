package origin

import (
	"context"
	"errors"
	"fmt"
)

// Peeker is an origin that can read part of an original without fetching
// all of it. sign --from-origin uses it to version URLs by content and to
// read image headers; serve never does.
type Peeker interface {
	// Peek returns the first n bytes of the original at key (all of it
	// when it is shorter), its size and its content address. An original
	// over the origin's byte limit is ErrTooLarge, as Fetch would say.
	Peek(ctx context.Context, key string, n int64) (*Peek, error)
	// ReadRange returns up to n bytes from off of the original at key,
	// fewer only at its end, provided it is still the version tag names
	// (Peek.Tag); a changed original is ErrChanged.
	ReadRange(ctx context.Context, key string, off, n int64, tag string) ([]byte, error)
}

// ErrChanged is the error kind of a ReadRange, or a Peek racing a write,
// that finds another version of the original than the one it started on:
// reading again starts afresh. Fetch never returns it.
var ErrChanged = errors.New("original changed while being read")

var (
	_ Peeker = (*S3)(nil)
	_ Peeker = (*Dir)(nil)
)

// Peek is the start of an original and what identifies it.
type Peek struct {
	Head []byte // the first bytes, at most what was asked for
	Size int64  // the whole original's length
	// Content is a content address of the original, the same on every
	// machine and in every run: for S3 its ETag, without quotes (the MD5
	// of the bytes for an object uploaded in one part, MD5s of the parts
	// and their count for a multipart upload); for a directory the MD5 of
	// the file in hex, which is the ETag S3 gives the same bytes uploaded
	// in one part.
	Content string
	// Tag names this version of the original for ReadRange: the S3 ETag,
	// or a directory file's size and modification time.
	Tag string
}

// maxPeek bounds one Peek or ReadRange, whatever the caller asks: a
// header reader has no business reading more at once.
const maxPeek = 8 << 20

func checkPeek(key string, off, n int64) error {
	if !validKey(key) {
		return errInvalidKey(key)
	}
	if off < 0 || n <= 0 || n > maxPeek {
		return fmt.Errorf("%w: reading %q: range %d+%d out of bounds (at most %d bytes at once)", ErrFailed, key, off, n, maxPeek)
	}
	return nil
}
