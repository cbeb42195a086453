package cache_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/cache/sharedtest"
)

// A purge on one instance reaches the others: their memory tiers drop the
// original's variants within one purge interval, and the next request is a
// fill, not the old copy. Each instance applies the others' notices, never
// its own, and another original is left alone.
func TestPurgeReachesEveryInstance(t *testing.T) {
	store := sharedtest.NewMem()
	a, b := newInstance(t, store, nil), newInstance(t, store, nil)
	for _, in := range []*instance{a, b} {
		in.get(t, "photos/cat.jpg", "w400")
		in.get(t, "photos/dog.jpg", "w400")
		flush(t, in)
	}
	var mu sync.Mutex
	applied := map[string][]string{}
	follow := func(name string, in *instance) {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		go in.shared.FollowPurges(ctx, 20*time.Millisecond, func(key string) {
			mu.Lock()
			applied[name] = append(applied[name], key)
			mu.Unlock()
			in.c.PurgeLocal(key)
		})
	}
	follow("a", a)
	follow("b", b)
	time.Sleep(50 * time.Millisecond) // both are following

	if _, err := a.c.Purge("photos/cat.jpg"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		done := len(applied["b"]) > 0
		mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	if got := strings.Join(applied["b"], ","); got != "photos/cat.jpg" {
		t.Errorf("b applied %q, want photos/cat.jpg once", got)
	}
	if len(applied["a"]) != 0 {
		t.Errorf("a applied its own notice: %v", applied["a"])
	}
	mu.Unlock()
	before := b.fills.Load()
	if _, tier := b.get(t, "photos/cat.jpg", "w400"); tier != cache.TierMiss || b.fills.Load() != before+1 {
		t.Errorf("b after the purge: %s, %d fills; want a miss and a fill", tier, b.fills.Load()-before)
	}
	if _, tier := b.get(t, "photos/dog.jpg", "w400"); tier != cache.TierMemory {
		t.Errorf("another original on b: %s, want memory", tier)
	}
}
