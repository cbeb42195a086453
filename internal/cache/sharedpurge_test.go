package cache_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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

// notice writes a purge notice as another instance would, with its own
// clock at t.
func notice(store *sharedtest.Mem, t time.Time, objectKey string) {
	store.SetObject(fmt.Sprintf("purges/%020d-%s", t.UnixNano(), "0ther0instance"), []byte(objectKey))
}

// followerFor returns a follower that records what it applies.
func followerFor(t *testing.T, in *instance, record string) (*cache.PurgeFollower, *[]string) {
	t.Helper()
	var applied []string
	f, err := in.shared.NewPurgeFollower(record, func(key string) { applied = append(applied, key) })
	if err != nil {
		t.Fatal(err)
	}
	return f, &applied
}

// Clocks that differ by less than cache.PurgeClockSkew lose no purge: a
// notice written after the last one applied, by a clock five minutes
// behind, is applied; none is applied twice. Past the bound it is not
// (the documented limit).
func TestPurgeNoticeFromASlowClock(t *testing.T) {
	store := sharedtest.NewMem()
	b := newInstance(t, store, nil)
	f, applied := followerFor(t, b, "")
	now := time.Now()
	notice(store, now.Add(time.Second), "a.jpg")
	if _, err := f.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	notice(store, now.Add(-5*time.Minute), "slow-clock.jpg")
	notice(store, now.Add(-cache.PurgeClockSkew-time.Minute), "beyond-the-bound.jpg")
	f.CatchUp(context.Background())
	f.CatchUp(context.Background())
	if got := strings.Join(*applied, ","); got != "a.jpg,slow-clock.jpg" {
		t.Errorf("applied %q, want a.jpg,slow-clock.jpg", got)
	}
}

// An instance stopped during a purge applies it when it starts, before it
// serves, from the record it keeps in its disk tier's directory; what it
// applied before the stop is not applied again. One stopped for longer than
// notices are kept is told to empty its disk tier.
func TestPurgeAppliedAfterARestart(t *testing.T) {
	store := sharedtest.NewMem()
	record := filepath.Join(t.TempDir(), cache.PurgeRecordFile)
	in := newInstance(t, store, nil)
	f, applied := followerFor(t, in, record)
	if stale, err := f.CatchUp(context.Background()); stale || err != nil {
		t.Fatalf("first start: stale %v, %v", stale, err)
	}
	notice(store, time.Now(), "before-the-stop.jpg")
	f.CatchUp(context.Background())
	if len(*applied) != 1 {
		t.Fatalf("applied %q before the stop", *applied)
	}

	notice(store, time.Now().Add(time.Millisecond), "while-stopped.jpg")
	restarted := newInstance(t, store, nil)
	f, applied = followerFor(t, restarted, record)
	if stale, err := f.CatchUp(context.Background()); stale || err != nil {
		t.Fatalf("restart: stale %v, %v", stale, err)
	}
	if got := strings.Join(*applied, ","); got != "while-stopped.jpg" {
		t.Errorf("after the restart applied %q, want while-stopped.jpg only", got)
	}

	old := fmt.Sprintf("checked %d\n", time.Now().Add(-cache.PurgeNoticeAge).UnixNano())
	if err := os.WriteFile(record, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	f, _ = followerFor(t, newInstance(t, store, nil), record)
	if stale, _ := f.CatchUp(context.Background()); !stale {
		t.Error("stopped for longer than notices are kept: not stale")
	}
}

// Objects under purges/ that are not notices (another program's, a cut
// write) are skipped and logged, never applied or a crash; the ones
// without a time are removed.
func TestMalformedPurgeNotices(t *testing.T) {
	store := sharedtest.NewMem()
	var logs cache.SyncBuffer
	in := newInstance(t, store, func(c *cache.SharedConfig) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	f, applied := followerFor(t, in, "")
	store.SetObject("purges/not-a-notice", []byte("x.jpg"))
	store.SetObject(fmt.Sprintf("purges/%020d-empty", time.Now().UnixNano()), nil)
	store.SetObject(fmt.Sprintf("purges/%020d-huge", time.Now().UnixNano()), bytes.Repeat([]byte("k"), 64<<10))
	notice(store, time.Now().Add(time.Second), "good.jpg")
	if _, err := f.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(*applied, ","); got != "good.jpg" {
		t.Errorf("applied %q, want good.jpg", got)
	}
	if store.Object("purges/not-a-notice") != nil {
		t.Error("the object without a time was kept")
	}
	if n := strings.Count(logs.String(), "malformed purge notice"); n != 3 {
		t.Errorf("%d log lines about malformed notices, want 3:\n%s", n, logs.String())
	}
}
