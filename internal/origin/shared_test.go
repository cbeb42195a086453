package origin_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/origin/origintest"
)

// counting wraps an origin, counts its fetches and, when gate is set, holds
// every fetch until gate is closed.
type counting struct {
	origin.Origin
	n    atomic.Int64
	gate chan struct{}
}

func (c *counting) Fetch(ctx context.Context, key string) (*origin.Object, error) {
	c.n.Add(1)
	if c.gate != nil {
		<-c.gate
	}
	return c.Origin.Fetch(ctx, key)
}

// dirWith returns a counting Dir origin over a temp directory holding
// objects, and the directory.
func dirWith(t *testing.T, objects map[string][]byte) (*counting, string) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, objects)
	return &counting{Origin: newDir(t, dir, 1<<20)}, dir
}

var cat = map[string][]byte{"photos/cat.jpg": []byte("meow")}

// fetchConcurrently fetches key n times at once and checks every result.
func fetchConcurrently(t *testing.T, o origin.Origin, key string, n int, want []byte) {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			obj, err := o.Fetch(context.Background(), key)
			if err != nil || !bytes.Equal(obj.Body, want) {
				t.Errorf("got %v, %v; want the object", obj, err)
			}
		})
	}
	wg.Wait()
}

func TestSharedConcurrentFetchesCostOne(t *testing.T) {
	inner, _ := dirWith(t, cat)
	s := origin.NewShared(inner, 1<<20, time.Minute)
	fetchConcurrently(t, s, "photos/cat.jpg", 20, cat["photos/cat.jpg"])
	if n := inner.n.Load(); n != 1 {
		t.Errorf("%d origin fetches, want 1", n)
	}
	if st := s.Stats(); st.Fetches != 1 || st.Hits+st.Coalesced != 19 || st.Cache.Entries != 1 {
		t.Errorf("stats %+v, want 1 fetch, 19 hits or coalesced, 1 entry", st)
	}
}

// Without a cache, fetches that overlap still share one fetch.
func TestSharedCoalescesWithoutCache(t *testing.T) {
	inner, _ := dirWith(t, cat)
	inner.gate = make(chan struct{})
	s := origin.NewShared(inner, 0, time.Minute)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fetchConcurrently(t, s, "photos/cat.jpg", 20, cat["photos/cat.jpg"])
	}()
	waitFor(t, func() bool { return s.Stats().Waiting == 20 && inner.n.Load() == 1 })
	time.Sleep(20 * time.Millisecond) // the last ones from Waiting into the flight
	close(inner.gate)
	<-done
	if n := inner.n.Load(); n != 1 {
		t.Errorf("%d origin fetches, want 1", n)
	}
	if st := s.Stats(); st.Coalesced != 19 || st.Hits != 0 || st.Waiting != 0 {
		t.Errorf("stats %+v, want 19 coalesced, no hits, none waiting", st)
	}
	fetchConcurrently(t, s, "photos/cat.jpg", 1, cat["photos/cat.jpg"])
	if n := inner.n.Load(); n != 2 {
		t.Errorf("%d origin fetches after a later fetch, want 2 (no cache)", n)
	}
}

func TestSharedTTL(t *testing.T) {
	inner, _ := dirWith(t, cat)
	const ttl = 400 * time.Millisecond
	s := origin.NewShared(inner, 1<<20, ttl)
	fetchConcurrently(t, s, "photos/cat.jpg", 1, cat["photos/cat.jpg"])
	time.Sleep(100 * time.Millisecond)
	fetchConcurrently(t, s, "photos/cat.jpg", 1, cat["photos/cat.jpg"])
	if n := inner.n.Load(); n != 1 {
		t.Errorf("%d origin fetches 100ms apart, want 1", n)
	}
	time.Sleep(ttl)
	fetchConcurrently(t, s, "photos/cat.jpg", 1, cat["photos/cat.jpg"])
	if n := inner.n.Load(); n != 2 {
		t.Errorf("%d origin fetches after the ttl, want 2", n)
	}
}

func TestSharedDoesNotCacheErrors(t *testing.T) {
	inner, dir := dirWith(t, nil)
	s := origin.NewShared(inner, 1<<20, time.Minute)
	if _, err := s.Fetch(context.Background(), "late.jpg"); !errors.Is(err, origin.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "late.jpg"), []byte("here now"), 0o644); err != nil {
		t.Fatal(err)
	}
	obj, err := s.Fetch(context.Background(), "late.jpg")
	if err != nil || string(obj.Body) != "here now" {
		t.Fatalf("got %v, %v; want the object that appeared", obj, err)
	}
}

// One caller giving up neither waits for the fetch nor cancels it for the
// others.
func TestSharedCallerCancels(t *testing.T) {
	inner, _ := dirWith(t, cat)
	inner.gate = make(chan struct{})
	s := origin.NewShared(inner, 1<<20, time.Minute)

	ctx, cancel := context.WithCancel(context.Background())
	impatient := make(chan error, 1)
	go func() {
		_, err := s.Fetch(ctx, "photos/cat.jpg")
		impatient <- err
	}()
	waitFor(t, func() bool { return inner.n.Load() == 1 })
	patient := make(chan *origin.Object, 1)
	go func() {
		obj, _ := s.Fetch(context.Background(), "photos/cat.jpg")
		patient <- obj
	}()
	waitFor(t, func() bool { return s.Stats().Waiting == 2 })

	cancel()
	select {
	case err := <-impatient:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled caller got %v, want context.Canceled", err)
		}
	case <-time.After(time.Second):
		t.Fatal("cancelled caller still waiting")
	}
	close(inner.gate)
	if obj := <-patient; obj == nil || string(obj.Body) != "meow" {
		t.Errorf("patient caller got %v, want the object", obj)
	}
	if n := inner.n.Load(); n != 1 {
		t.Errorf("%d origin fetches, want 1", n)
	}
}

// A caller whose deadline passes gets ErrTimeout, and the fetch goes on.
func TestSharedCallerDeadline(t *testing.T) {
	inner, _ := dirWith(t, cat)
	inner.gate = make(chan struct{})
	s := origin.NewShared(inner, 1<<20, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Fetch(ctx, "photos/cat.jpg"); !errors.Is(err, origin.ErrTimeout) {
		t.Errorf("got %v, want ErrTimeout", err)
	}
	close(inner.gate)
	waitFor(t, func() bool { return s.Stats().Cache.Entries == 1 })
	fetchConcurrently(t, s, "photos/cat.jpg", 1, cat["photos/cat.jpg"])
	if n := inner.n.Load(); n != 1 {
		t.Errorf("%d origin fetches, want 1: the abandoned fetch fills the cache", n)
	}
}

func TestSharedForget(t *testing.T) {
	inner, dir := dirWith(t, cat)
	s := origin.NewShared(inner, 1<<20, time.Minute)
	fetchConcurrently(t, s, "photos/cat.jpg", 1, cat["photos/cat.jpg"])
	writeFiles(t, dir, map[string][]byte{"photos/cat.jpg": []byte("purr")})
	fetchConcurrently(t, s, "photos/cat.jpg", 1, cat["photos/cat.jpg"]) // still cached
	s.Forget("photos/cat.jpg")
	fetchConcurrently(t, s, "photos/cat.jpg", 1, []byte("purr"))
	if n := inner.n.Load(); n != 2 {
		t.Errorf("%d origin fetches, want 2", n)
	}
}

// Forget while a fetch is in flight: the fetch answers, but is not kept.
func TestSharedForgetDuringFetch(t *testing.T) {
	inner, _ := dirWith(t, cat)
	inner.gate = make(chan struct{})
	s := origin.NewShared(inner, 1<<20, time.Minute)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fetchConcurrently(t, s, "photos/cat.jpg", 1, cat["photos/cat.jpg"])
	}()
	waitFor(t, func() bool { return inner.n.Load() == 1 })
	s.Forget("photos/cat.jpg")
	close(inner.gate)
	<-done
	fetchConcurrently(t, s, "photos/cat.jpg", 1, cat["photos/cat.jpg"])
	if n := inner.n.Load(); n != 2 {
		t.Errorf("%d origin fetches, want 2: the fetch in flight at Forget was kept", n)
	}
}

// An original larger than a quarter of the budget is served but not kept.
func TestSharedSkipsLargeOriginals(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 300)
	inner, _ := dirWith(t, map[string][]byte{"big.jpg": big})
	s := origin.NewShared(inner, 1000, time.Minute)
	fetchConcurrently(t, s, "big.jpg", 1, big)
	fetchConcurrently(t, s, "big.jpg", 1, big)
	if n := inner.n.Load(); n != 2 {
		t.Errorf("%d origin fetches, want 2", n)
	}
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// Shared is an Origin like the others, cache or not.
func TestSharedConformance(t *testing.T) {
	for name, budget := range map[string]int64{"cache": 1 << 20, "no cache": 0} {
		t.Run(name, func(t *testing.T) {
			origintest.Run(t, func(t *testing.T, objects map[string][]byte, maxBytes int64) origin.Origin {
				dir := t.TempDir()
				writeFiles(t, dir, objects)
				return origin.NewShared(newDir(t, dir, maxBytes), budget, time.Minute)
			})
		})
	}
}
