package origintest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/origin"
)

// runPeek checks an origin's Peek and ReadRange against the fixtures.
func runPeek(t *testing.T, p origin.Peeker, objects map[string][]byte) {
	ctx := context.Background()
	t.Run("Prefix", func(t *testing.T) {
		for key, want := range objects {
			if len(want) > MaxBytes {
				continue
			}
			for _, n := range []int64{1, 100, max(1, int64(len(want))), int64(len(want)) + 1, 1 << 20} {
				pk, err := p.Peek(ctx, key, n)
				if err != nil {
					t.Fatalf("%q, %d bytes: %v", key, n, err)
				}
				if wantHead := want[:min(int64(len(want)), n)]; !bytes.Equal(pk.Head, wantHead) {
					t.Errorf("%q, %d bytes: got %d bytes, want the first %d", key, n, len(pk.Head), len(wantHead))
				}
				if pk.Size != int64(len(want)) {
					t.Errorf("%q: size %d, want %d", key, pk.Size, len(want))
				}
				// The same bytes have the same address in every origin:
				// the MD5 that S3 gives an object uploaded in one part.
				sum := md5.Sum(want)
				if pk.Content != hex.EncodeToString(sum[:]) {
					t.Errorf("%q: content address %q, want the MD5 %x", key, pk.Content, sum)
				}
				if pk.Tag == "" {
					t.Errorf("%q: empty tag", key)
				}
			}
		}
	})

	t.Run("ReadRange", func(t *testing.T) {
		want := objects["photos/dog.jpg"]
		pk, err := p.Peek(ctx, "photos/dog.jpg", 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ off, n int64 }{{0, 10}, {10, 100}, {1000, 1000}, {int64(len(want)) - 1, 5}} {
			b, err := p.ReadRange(ctx, "photos/dog.jpg", c.off, c.n, pk.Tag)
			end := min(c.off+c.n, int64(len(want)))
			if err != nil || !bytes.Equal(b, want[c.off:end]) {
				t.Errorf("range %d+%d: got %d bytes, %v; want bytes %d to %d", c.off, c.n, len(b), err, c.off, end)
			}
		}
		if b, err := p.ReadRange(ctx, "photos/dog.jpg", int64(len(want)), 10, pk.Tag); err != nil || len(b) != 0 {
			t.Errorf("range at the end: got %d bytes, %v; want none", len(b), err)
		}
		if _, err := p.ReadRange(ctx, "photos/dog.jpg", 0, 10, `"another-version"`); !errors.Is(err, origin.ErrChanged) {
			t.Errorf("another version's tag: got %v, want ErrChanged", err)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		for key, kind := range map[string]error{
			"missing.jpg":            origin.ErrNotFound,
			"photos":                 origin.ErrNotFound,
			"PHOTOS/cat.jpg":         origin.ErrNotFound,
			"../secret":              origin.ErrNotFound,
			"photos/../photos/c.jpg": origin.ErrNotFound,
			"":                       origin.ErrNotFound,
			"over.bin":               origin.ErrTooLarge,
			"far-over.bin":           origin.ErrTooLarge,
		} {
			if pk, err := p.Peek(ctx, key, 100); !errors.Is(err, kind) || pk != nil {
				t.Errorf("%q: got %v, %v; want %v", key, pk, err, kind)
			}
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := p.Peek(cancelled, "photos/cat.jpg", 10); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled: got %v", err)
		}
		expired, cancel2 := context.WithDeadline(ctx, time.Now().Add(-time.Second))
		defer cancel2()
		if _, err := p.Peek(expired, "photos/cat.jpg", 10); !errors.Is(err, origin.ErrTimeout) {
			t.Errorf("expired: got %v", err)
		}
	})
}
