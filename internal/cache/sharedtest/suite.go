package sharedtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/cache"
)

// Factory builds the store under test, empty, and a sibling: a store over
// the same bucket under another prefix. It may register cleanups with t.
type Factory func(t *testing.T) (store, sibling cache.Store)

// timeout bounds each call of the suite.
const timeout = 30 * time.Second

// Run runs every conformance case against the stores build makes. These
// are the properties the shared tier relies on; each case says which.
func Run(t *testing.T, build Factory) {
	s, sibling := build(t)
	ctx := func(t *testing.T) context.Context {
		c, cancel := context.WithTimeout(context.Background(), timeout)
		t.Cleanup(cancel)
		return c
	}

	// A miss must be told from a failure: one is a transform, the other
	// pauses the tier.
	t.Run("MissingIsErrNoObject", func(t *testing.T) {
		_, _, err := s.Get(ctx(t), "entries/00/none/none", 1<<20)
		if !errors.Is(err, cache.ErrNoObject) {
			t.Fatalf("got %v, want ErrNoObject", err)
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		for name, body := range map[string][]byte{"empty": {}, "small": []byte("entry"), "binary": binary(70_000)} {
			key := "entries/rt/" + name
			if err := s.Put(ctx(t), key, body, true); err != nil {
				t.Fatalf("%s: put: %v", name, err)
			}
			got, _, err := s.Get(ctx(t), key, 1<<20)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("%s: got %d bytes, %v; want the %d put", name, len(got), err, len(body))
			}
		}
	})

	// A foreign object larger than anything the tier writes is refused
	// before it is read whole.
	t.Run("Limit", func(t *testing.T) {
		body := binary(1000)
		if err := s.Put(ctx(t), "entries/limit/x", body, false); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Get(ctx(t), "entries/limit/x", 999); !errors.Is(err, cache.ErrObjectTooLarge) {
			t.Errorf("limit 999: got %v, want ErrObjectTooLarge", err)
		}
		if got, _, err := s.Get(ctx(t), "entries/limit/x", 1000); err != nil || len(got) != 1000 {
			t.Errorf("limit 1000: got %d bytes, %v", len(got), err)
		}
	})

	// A variant is written once: the second writer learns it is there
	// and the first one's bytes stay; a bad object is overwritten.
	t.Run("IfAbsent", func(t *testing.T) {
		key := "entries/cond/x"
		if err := s.Put(ctx(t), key, []byte("first"), true); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx(t), key, []byte("second"), true); !errors.Is(err, cache.ErrObjectExists) {
			t.Errorf("second conditional put: got %v, want ErrObjectExists", err)
		}
		if got, _, _ := s.Get(ctx(t), key, 100); string(got) != "first" {
			t.Errorf("after the refused put: %q, want \"first\"", got)
		}
		if err := s.Put(ctx(t), key, []byte("replaced"), false); err != nil {
			t.Fatalf("unconditional put: %v", err)
		}
		if got, _, _ := s.Get(ctx(t), key, 100); string(got) != "replaced" {
			t.Errorf("after the unconditional put: %q, want \"replaced\"", got)
		}
	})

	// Instances racing to write one variant: exactly one write lands.
	t.Run("IfAbsentRace", func(t *testing.T) {
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Put(ctx(t), "entries/race/x", fmt.Appendf(nil, "writer %d", i), true)
			}()
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, cache.ErrObjectExists):
				t.Errorf("writer %d: %v", i, err)
			}
		}
		if won != 1 {
			t.Errorf("%d writers succeeded, want exactly 1", won)
		}
	})

	// Purge lists one original's prefix: nothing of a sibling original
	// (whose hash the prefix is a prefix of) and nothing of another
	// prefix in the same bucket.
	t.Run("ListAndDelete", func(t *testing.T) {
		keys := []string{"entries/ab/abc/1", "entries/ab/abc/2", "entries/ab/abc/3", "entries/ab/abcd/1"}
		for _, k := range keys {
			if err := s.Put(ctx(t), k, []byte(k), true); err != nil {
				t.Fatal(err)
			}
		}
		if err := sibling.Put(ctx(t), "entries/ab/abc/9", []byte("other prefix"), true); err != nil {
			t.Fatal(err)
		}
		got := list(t, s, "entries/ab/abc/")
		if want := keys[:3]; !slices.Equal(got, want) {
			t.Fatalf("listed %q, want %q", got, want)
		}
		for _, k := range got {
			if err := s.Delete(ctx(t), k); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Delete(ctx(t), "entries/ab/abc/1"); err != nil {
			t.Errorf("deleting a missing object: %v", err)
		}
		if got := list(t, s, "entries/ab/"); !slices.Equal(got, keys[3:]) {
			t.Errorf("after deleting: %q, want %q", got, keys[3:])
		}
		if got := list(t, sibling, "entries/"); !slices.Equal(got, []string{"entries/ab/abc/9"}) {
			t.Errorf("the sibling prefix holds %q", got)
		}
	})

	// A listing says each object's size and when it was written, which
	// Get says too: the cleanup and the touch go by it.
	t.Run("ListInfo", func(t *testing.T) {
		before := time.Now().Add(-time.Minute) // S3 times are whole seconds
		if err := s.Put(ctx(t), "entries/info/x", binary(1234), false); err != nil {
			t.Fatal(err)
		}
		var infos []cache.ObjectInfo
		if err := s.List(ctx(t), "entries/info/", func(o cache.ObjectInfo) error { infos = append(infos, o); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(infos) != 1 || infos[0].Key != "entries/info/x" || infos[0].Size != 1234 ||
			infos[0].Modified.Before(before) || infos[0].Modified.After(time.Now().Add(time.Minute)) {
			t.Fatalf("listed %+v, want entries/info/x of 1234 bytes written now", infos)
		}
		if _, got, err := s.Get(ctx(t), "entries/info/x", 2000); err != nil || !got.Modified.Equal(infos[0].Modified) || got.ETag == "" {
			t.Errorf("Get says %+v, %v; the listing %+v", got, err, infos[0])
		}
	})

	// A touch renews the modification time and keeps the bytes; a touch of
	// an object purged (or replaced) since it was read is ErrNoObject and
	// never brings it back.
	t.Run("Touch", func(t *testing.T) {
		if err := s.Put(ctx(t), "entries/touch/x", []byte("kept"), false); err != nil {
			t.Fatal(err)
		}
		body, first, _ := s.Get(ctx(t), "entries/touch/x", 100)
		time.Sleep(1100 * time.Millisecond) // S3 times are whole seconds
		if err := s.Touch(ctx(t), "entries/touch/x", body, first.ETag); err != nil {
			t.Fatal(err)
		}
		got, second, err := s.Get(ctx(t), "entries/touch/x", 100)
		if err != nil || string(got) != "kept" || !second.Modified.After(first.Modified) {
			t.Errorf("after the touch: %q, modified %v (was %v), %v", got, second.Modified, first.Modified, err)
		}
		if err := s.Delete(ctx(t), "entries/touch/x"); err != nil {
			t.Fatal(err)
		}
		if err := s.Touch(ctx(t), "entries/touch/x", body, second.ETag); !errors.Is(err, cache.ErrNoObject) {
			t.Errorf("touching a purged object: %v, want ErrNoObject", err)
		}
		if got := list(t, s, "entries/touch/"); len(got) != 0 {
			t.Errorf("the touch brought back %q", got)
		}
		s.Put(ctx(t), "entries/touch/y", []byte("old"), false)
		_, old, _ := s.Get(ctx(t), "entries/touch/y", 100)
		s.Put(ctx(t), "entries/touch/y", []byte("new"), false)
		if err := s.Touch(ctx(t), "entries/touch/y", []byte("old"), old.ETag); !errors.Is(err, cache.ErrNoObject) {
			t.Errorf("touching a replaced object: %v, want ErrNoObject", err)
		}
		if got, _, _ := s.Get(ctx(t), "entries/touch/y", 100); string(got) != "new" {
			t.Errorf("the touch wrote back %q over the new bytes", got)
		}
	})

	// Many keys go in one call (S3's DeleteObjects batches), missing ones
	// among them.
	t.Run("DeleteMany", func(t *testing.T) {
		var keys []string
		for i := range 1005 {
			keys = append(keys, fmt.Sprintf("entries/many/%04d", i))
		}
		var wg sync.WaitGroup
		errs := make(chan error, len(keys))
		sem := make(chan struct{}, 16)
		for _, k := range keys[:1003] {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				errs <- s.Put(ctx(t), k, []byte("x"), false)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Delete(ctx(t), keys...); err != nil {
			t.Fatal(err)
		}
		if got := list(t, s, "entries/many/"); len(got) != 0 {
			t.Errorf("%d objects left, first %q", len(got), got[0])
		}
	})

	t.Run("ListStops", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := s.List(ctx(t), "entries/", func(cache.ObjectInfo) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("got %v after %d calls, want the callback's error after 1", err, calls)
		}
	})

	// A caller that gave up gets an error, never a miss: a miss would be
	// cached as "not there".
	t.Run("Canceled", func(t *testing.T) {
		c, cancel := context.WithCancel(context.Background())
		cancel()
		if _, _, err := s.Get(c, "entries/rt/small", 100); err == nil || errors.Is(err, cache.ErrNoObject) {
			t.Errorf("get: got %v, want a failure", err)
		}
		if err := s.Put(c, "entries/rt/canceled", []byte("x"), true); err == nil {
			t.Error("put with a canceled context succeeded")
		}
	})
}

func list(t *testing.T, s cache.Store, prefix string) []string {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var keys []string
	if err := s.List(c, prefix, func(o cache.ObjectInfo) error { keys = append(keys, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

func binary(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}
