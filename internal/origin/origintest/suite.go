package origintest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/origin"
)

// Factory builds the origin under test over objects (key to content), with
// a byte limit of maxBytes. It is called once per Run and may register
// cleanups with t.
type Factory func(t *testing.T, objects map[string][]byte, maxBytes int64) origin.Origin

// clockSlack is how far an origin's LastModified may lie outside the time
// its objects were stored: S3 reports whole seconds.
const clockSlack = 2 * time.Second

// Run runs every conformance case against the origin that build makes.
func Run(t *testing.T, build Factory) {
	objects := Fixtures()
	before := time.Now()
	o := build(t, Fixtures(), MaxBytes)
	after := time.Now()

	t.Run("Found", func(t *testing.T) {
		for key, want := range objects {
			if len(want) > MaxBytes {
				continue
			}
			obj := fetchOK(t, o, key)
			if !bytes.Equal(obj.Body, want) {
				t.Errorf("%q: got %d bytes, want the %d stored", key, len(obj.Body), len(want))
			}
			if obj.ETag == "" {
				t.Errorf("%q: empty ETag", key)
			}
			lm := obj.LastModified
			if lm.Before(before.Add(-clockSlack)) || lm.After(after.Add(clockSlack)) {
				t.Errorf("%q: LastModified %v, want between %v and %v", key, lm, before, after)
			}
		}
	})

	t.Run("ETagStable", func(t *testing.T) {
		first := fetchOK(t, o, "photos/cat.jpg").ETag
		if again := fetchOK(t, o, "photos/cat.jpg").ETag; again != first {
			t.Errorf("ETag changed between fetches: %s then %s", first, again)
		}
		if other := fetchOK(t, o, "photos/dog.jpg").ETag; other == first {
			t.Errorf("different contents share the ETag %s", first)
		}
	})

	t.Run("EmptyObject", func(t *testing.T) {
		obj := fetchOK(t, o, "empty.jpg")
		if len(obj.Body) != 0 {
			t.Errorf("got %d bytes, want 0", len(obj.Body))
		}
	})

	t.Run("ExactlyMaxBytes", func(t *testing.T) {
		obj := fetchOK(t, o, "exact.bin")
		if len(obj.Body) != MaxBytes {
			t.Errorf("got %d bytes, want %d", len(obj.Body), MaxBytes)
		}
	})

	t.Run("TooLarge", func(t *testing.T) {
		for _, key := range []string{"over.bin", "far-over.bin"} {
			obj, err := o.Fetch(context.Background(), key)
			if !errors.Is(err, origin.ErrTooLarge) {
				t.Errorf("%q: got error %v, want ErrTooLarge", key, err)
			}
			if obj != nil {
				t.Errorf("%q: got a body of %d bytes with the error", key, len(obj.Body))
			}
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		for _, key := range []string{
			"missing.jpg",
			"photos/missing.jpg",
			"photos/cat.jpg/more",
			"photos",         // a directory, or only a prefix of keys
			"photos/",        // an empty last segment
			"PHOTOS/cat.jpg", // keys are case-sensitive
			"photos/cat.jpg ",
			"photos%2Fcat.jpg", // the key is already decoded: no second decoding
		} {
			expectKind(t, o, key, origin.ErrNotFound)
		}
	})

	t.Run("NoEscape", func(t *testing.T) {
		for _, key := range []string{
			"",
			"/photos/cat.jpg",
			"./photos/cat.jpg",
			"photos/./cat.jpg",
			"photos//cat.jpg",
			"../secret",
			"../../../../etc/passwd",
			"photos/../photos/cat.jpg",
			"photos/../../secret",
			"..",
			"photos/cat.jpg\x00.png",
		} {
			expectKind(t, o, key, origin.ErrNotFound)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 4 {
			for key, want := range objects {
				wg.Go(func() {
					obj, err := o.Fetch(context.Background(), key)
					switch {
					case len(want) > MaxBytes:
						if !errors.Is(err, origin.ErrTooLarge) {
							t.Errorf("%q: got %v, want ErrTooLarge", key, err)
						}
					case err != nil:
						t.Errorf("%q: %v", key, err)
					case !bytes.Equal(obj.Body, want):
						t.Errorf("%q: wrong body", key)
					}
				})
			}
		}
		wg.Wait()
	})

	t.Run("CancelledContext", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		obj, err := o.Fetch(ctx, "photos/cat.jpg")
		if !errors.Is(err, context.Canceled) || obj != nil {
			t.Errorf("got %v, %v; want no object and context.Canceled", obj, err)
		}
	})

	if p, ok := o.(origin.Peeker); ok {
		t.Run("Peek", func(t *testing.T) { runPeek(t, p, objects) })
	}

	t.Run("ExpiredContext", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		obj, err := o.Fetch(ctx, "photos/cat.jpg")
		if !errors.Is(err, origin.ErrTimeout) || obj != nil {
			t.Errorf("got %v, %v; want no object and ErrTimeout", obj, err)
		}
	})
}

func fetchOK(t *testing.T, o origin.Origin, key string) *origin.Object {
	t.Helper()
	obj, err := o.Fetch(context.Background(), key)
	if err != nil {
		t.Fatalf("%q: %v", key, err)
	}
	return obj
}

// expectKind checks that fetching key fails with the error kind want, wraps
// no other kind, and returns no object.
func expectKind(t *testing.T, o origin.Origin, key string, want error) {
	t.Helper()
	obj, err := o.Fetch(context.Background(), key)
	if obj != nil {
		t.Errorf("%q: got an object of %d bytes, want %v", key, len(obj.Body), want)
		return
	}
	if !errors.Is(err, want) {
		t.Errorf("%q: got error %v, want %v", key, err, want)
		return
	}
	for _, other := range []error{origin.ErrNotFound, origin.ErrTooLarge, origin.ErrTimeout, origin.ErrFailed, context.Canceled} {
		if other != want && errors.Is(err, other) {
			t.Errorf("%q: error %v wraps %v as well as %v", key, err, other, want)
		}
	}
	if strings.TrimSpace(err.Error()) == "" {
		t.Errorf("%q: empty error text", key)
	}
}
