package sign

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/imgproxy-team/imgproxy/internal/geometry"
	"github.com/imgproxy-team/imgproxy/internal/imagefmt"
	"github.com/imgproxy-team/imgproxy/internal/lru"
	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/params"
)

// Original is what a lookup at the origin learned about an original: the
// version its URLs carry, its size as shown, and a placeholder when asked.
type Original struct {
	Version       string // v: VersionOf the content address
	Width, Height int    // after EXIF orientation, as the server sees it
	Placeholder   string // a data: URI, "" unless placeholders were asked for
}

// VersionOf turns an origin's content address into v: the first 12
// characters of the unpadded base64url SHA-256 of it (72 bits), which fit
// v's alphabet whatever the origin's ETag looks like.
func VersionOf(content string) string {
	sum := sha256.Sum256([]byte(content))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

// output is the size of the image a URL with options o returns from the
// original, by the rule the server resizes by.
func (r *Original) output(o *params.Options) Size {
	w, h := geometry.Output(r.Width, r.Height, o)
	return Size{w, h}
}

// Placeholder makes a placeholder's data: URI from a whole original.
type Placeholder func(ctx context.Context, src []byte) (string, error)

// Source is an origin that sign can look originals up in.
type Source interface {
	origin.Origin
	origin.Peeker
}

// Originals looks originals up: a ranged read of the first bytes for the
// content address and the header, and with placeholders one fetch and one
// decode. Lookups of one key share one flight and are kept for the run.
type Originals struct {
	src         Source
	placeholder Placeholder // nil: no placeholders
	group       singleflight.Group
	done        *lru.Cache[string, Original]
}

// firstRead is the prefix a lookup starts with: the header of nearly every
// photograph (EXIF, an ICC profile, a HEIF meta box) is inside it.
const firstRead = 64 << 10

// NewOriginals looks originals up in src; placeholder may be nil.
func NewOriginals(src Source, placeholder Placeholder) *Originals {
	return &Originals{
		src:         src,
		placeholder: placeholder,
		// Results are small (a placeholder is a few hundred bytes): 32 MiB
		// keeps a build's worth, and a batch that repeats a key pays once.
		done: lru.New[string, Original](32<<20, 1<<20, 24*time.Hour),
	}
}

// Placeholders reports whether lookups make placeholders.
func (o *Originals) Placeholders() bool { return o.placeholder != nil }

// ErrOriginal is the kind of a lookup error that belongs to one original
// (missing, too large, damaged, not an image), not to the origin.
var ErrOriginal = errors.New("original")

// originalError marks err as ErrOriginal without adding to its text.
type originalError struct{ err error }

func (e originalError) Error() string        { return e.err.Error() }
func (e originalError) Unwrap() error        { return e.err }
func (e originalError) Is(target error) bool { return target == ErrOriginal }

// Lookup returns what the origin says about the original at key. Errors
// that belong to the original wrap ErrOriginal; the rest (the origin is
// unreachable, refuses the credentials, times out) are the origin's.
func (o *Originals) Lookup(ctx context.Context, key string) (Original, error) {
	if r, ok := o.done.Get(key); ok {
		return r, nil
	}
	ch := o.group.DoChan(key, func() (any, error) {
		r, err := o.lookup(ctx, key)
		if err == nil {
			o.done.Add(key, r, int64(len(key)+len(r.Placeholder)+64))
		}
		return r, err
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return Original{}, res.Err
		}
		return res.Val.(Original), nil
	case <-ctx.Done():
		return Original{}, ctx.Err()
	}
}

func (o *Originals) lookup(ctx context.Context, key string) (Original, error) {
	for attempt := 1; ; attempt++ {
		r, err := o.lookupOnce(ctx, key)
		// A write racing the read: once more, then say so.
		if errors.Is(err, origin.ErrChanged) {
			if attempt < 3 {
				continue
			}
			err = originalError{fmt.Errorf("%w (written to while being read, %d times)", err, attempt)}
		}
		return r, err
	}
}

func (o *Originals) lookupOnce(ctx context.Context, key string) (Original, error) {
	pk, err := o.src.Peek(ctx, key, firstRead)
	if err != nil {
		return Original{}, originError(err)
	}
	rd := &rangeReader{ctx: ctx, src: o.src, key: key, peek: pk}
	hd, err := imagefmt.ReadHeader(rd, pk.Size)
	if err != nil {
		if rd.err != nil {
			return Original{}, originError(rd.err)
		}
		return Original{}, originalError{fmt.Errorf("%q: %w", key, err)}
	}
	r := Original{Version: VersionOf(pk.Content), Width: hd.Width, Height: hd.Height}
	if o.placeholder == nil {
		return r, nil
	}
	obj, err := o.src.Fetch(ctx, key)
	if err != nil {
		return Original{}, originError(err)
	}
	if obj.ETag != pk.Tag {
		return Original{}, fmt.Errorf("%w: %q", origin.ErrChanged, key)
	}
	if r.Placeholder, err = o.placeholder(ctx, obj.Body); err != nil {
		return Original{}, originalError{fmt.Errorf("%q: placeholder: %w", key, err)}
	}
	return r, nil
}

// originError marks the errors that belong to one original.
func originError(err error) error {
	if errors.Is(err, origin.ErrNotFound) || errors.Is(err, origin.ErrTooLarge) {
		return originalError{err}
	}
	return err
}
