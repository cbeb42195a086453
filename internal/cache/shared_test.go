package cache_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/cache/sharedtest"
	"github.com/imgproxy-team/imgproxy/internal/params"
)

func vkey(s string) params.Key { return params.CacheKey("/"+s, params.FormatDefault) }

// instance is one server's cache over a shared store, with a fill that
// counts its calls (each one a transform).
type instance struct {
	c      *cache.Cache
	shared *cache.Shared
	fills  atomic.Int64
}

func newInstance(t *testing.T, store cache.Store, mod func(*cache.SharedConfig)) *instance {
	t.Helper()
	cfg := cache.SharedConfig{Store: store, Timeout: 200 * time.Millisecond, WriteTimeout: 2 * time.Second,
		Logger: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&cfg)
	}
	s := cache.NewShared(cfg)
	t.Cleanup(func() { s.Close(context.Background()) })
	return &instance{c: cache.New(cache.Config{MemorySize: 1 << 20, FillTimeout: 5 * time.Second, Shared: s}), shared: s}
}

// get asks for variant v of original obj; the fill makes a 1000-byte body
// that names both.
func (in *instance) get(t *testing.T, obj, v string) (*cache.Entry, cache.Tier) {
	t.Helper()
	e, tier, err := in.c.Get(context.Background(), obj, vkey(obj+"/"+v), func(context.Context) (*cache.Entry, error) {
		in.fills.Add(1)
		return &cache.Entry{Body: body(obj, v), ContentType: "image/webp", ObjectKey: obj, ETag: `"e"`,
			OriginETag: `"o"`, LastModified: time.Unix(1700000000, 0), Created: time.Now()}, nil
	})
	if err != nil {
		t.Fatalf("get %s %s: %v", obj, v, err)
	}
	return e, tier
}

func body(obj, v string) []byte {
	return bytes.Repeat([]byte(obj+"/"+v+";"), 1000/(len(obj)+len(v)+2)+1)[:1000]
}

// entryKeys are the store's variants, without the purge notices.
func entryKeys(store *sharedtest.Mem) []string {
	var out []string
	for _, k := range store.Keys() {
		if strings.HasPrefix(k, "entries/") {
			out = append(out, k)
		}
	}
	return out
}

func flush(t *testing.T, in *instance) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := in.shared.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// What one instance made, another serves from the shared tier without a
// fill, with every field the response needs, and keeps it locally.
func TestSharedServesAnotherInstancesVariant(t *testing.T) {
	store := sharedtest.NewMem()
	a, b := newInstance(t, store, nil), newInstance(t, store, nil)
	made, tier := a.get(t, "photos/cat.jpg", "w400")
	if tier != cache.TierMiss {
		t.Fatalf("first get: %s", tier)
	}
	flush(t, a)
	if n := len(store.Keys()); n != 1 {
		t.Fatalf("%d objects in the store, want 1", n)
	}
	got, tier := b.get(t, "photos/cat.jpg", "w400")
	if tier != cache.TierShared || b.fills.Load() != 0 {
		t.Fatalf("second instance: tier %s after %d fills, want shared after 0", tier, b.fills.Load())
	}
	if !bytes.Equal(got.Body, made.Body) || got.ContentType != made.ContentType || got.ETag != made.ETag ||
		got.OriginETag != made.OriginETag || !got.LastModified.Equal(made.LastModified) || got.ObjectKey != made.ObjectKey {
		t.Errorf("served %+v, want %+v", got, made)
	}
	if _, tier := b.get(t, "photos/cat.jpg", "w400"); tier != cache.TierMemory {
		t.Errorf("then: %s, want memory (promoted)", tier)
	}
	if s := b.shared.Stats(); s.Hits != 1 || s.Misses != 0 {
		t.Errorf("b's shared stats %+v, want 1 hit", s)
	}
	if s := a.shared.Stats(); s.Writes != 1 || s.Misses != 1 {
		t.Errorf("a's shared stats %+v, want 1 miss and 1 write", s)
	}
}

// Both instances miss at once (coalescing is per instance): both
// transform, and the store keeps one object, written once.
func TestSharedRaceWritesOnce(t *testing.T) {
	store := sharedtest.NewMem()
	a, b := newInstance(t, store, nil), newInstance(t, store, nil)
	release := store.HoldPuts() // neither write lands before the other's miss
	a.get(t, "k", "v")
	b.get(t, "k", "v")
	release()
	flush(t, a)
	flush(t, b)
	sa, sb := a.shared.Stats(), b.shared.Stats()
	if sa.Writes+sb.Writes != 1 || sa.Exists+sb.Exists != 1 {
		t.Errorf("writes %d+%d, already there %d+%d; want one write and one found there", sa.Writes, sb.Writes, sa.Exists, sb.Exists)
	}
}

// A corrupt, truncated, foreign or unrelated object is a miss, counted,
// and replaced by the variant made instead.
func TestSharedBadObjectIsMissAndReplaced(t *testing.T) {
	store := sharedtest.NewMem()
	a := newInstance(t, store, nil)
	a.get(t, "other.jpg", "v")
	a.get(t, "cat.jpg", "v")
	flush(t, a)
	objects := map[string][]byte{}
	for _, k := range store.Keys() {
		objects[k] = store.Object(k)
	}
	var catKey, otherKey string
	for k, b := range objects {
		if bytes.Contains(b, []byte("other.jpg/v;")) {
			otherKey = k
		} else {
			catKey = k
		}
	}
	good := objects[catKey]
	flipped := bytes.Clone(good)
	flipped[len(flipped)-10] ^= 1
	for name, bad := range map[string][]byte{
		"flipped byte":             flipped,
		"truncated":                good[:len(good)-100],
		"foreign":                  []byte("<html>not an entry</html>"),
		"empty":                    {},
		"another original's entry": objects[otherKey],
	} {
		t.Run(name, func(t *testing.T) {
			store.SetObject(catKey, bad)
			b := newInstance(t, store, nil)
			if _, tier := b.get(t, "cat.jpg", "v"); tier != cache.TierMiss || b.fills.Load() != 1 {
				t.Fatalf("tier %s after %d fills, want a miss and a fill", tier, b.fills.Load())
			}
			flush(t, b)
			if s := b.shared.Stats(); s.Corrupt != 1 || s.Writes != 1 {
				t.Errorf("stats %+v: want 1 corrupt, 1 write (the replacement)", s)
			}
			c := newInstance(t, store, nil)
			if _, tier := c.get(t, "cat.jpg", "v"); tier != cache.TierShared {
				t.Errorf("after replacement: %s, want shared", tier)
			}
		})
	}
}

// A store that hangs costs one bounded wait, then none while the tier is
// paused: requests are filled, writes dropped, and the failure shows in
// the stats and Err; when the store answers again, so does the tier.
func TestSharedStoreDown(t *testing.T) {
	store := sharedtest.NewMem()
	const timeout = 150 * time.Millisecond
	a := newInstance(t, store, func(c *cache.SharedConfig) { c.Timeout = timeout; c.Pause = 300 * time.Millisecond })
	store.Down.Store(true)
	store.Hang.Store(true)
	start := time.Now()
	if _, tier := a.get(t, "k", "1"); tier != cache.TierMiss {
		t.Fatalf("tier %s", tier)
	}
	if d := time.Since(start); d < timeout || d > timeout+200*time.Millisecond {
		t.Errorf("first miss with the store hanging took %v, want about %v", d, timeout)
	}
	start = time.Now()
	for i := range 20 {
		a.get(t, "k", "n"+string(rune('a'+i)))
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("20 misses while paused took %v: the store was asked again", d)
	}
	s := a.shared.Stats()
	if !s.Failing || s.GetErrors != 1 || s.Skipped != 20 || s.DroppedUnavailable < 20 || a.shared.Err() == nil {
		t.Errorf("stats %+v, Err %v: want failing, 1 error, 20 skipped, writes dropped", s, a.shared.Err())
	}
	if a.fills.Load() != 21 {
		t.Errorf("%d fills, want 21", a.fills.Load())
	}
	store.Down.Store(false)
	time.Sleep(350 * time.Millisecond) // the pause
	a.get(t, "k", "after")
	flush(t, a)
	if s := a.shared.Stats(); s.Failing || s.Writes != 1 || a.shared.Err() != nil {
		t.Errorf("after recovery: %+v", s)
	}
}

// Writes beyond the queue's bytes are dropped and counted, and never
// delay the response.
func TestSharedFullQueueDrops(t *testing.T) {
	store := sharedtest.NewMem()
	a := newInstance(t, store, func(c *cache.SharedConfig) {
		c.Writers, c.Queue, c.QueueBytes, c.WriteTimeout = 1, 100, 3000, 5*time.Second
	})
	release := store.HoldPuts() // the first write holds the only writer
	defer release()
	start := time.Now()
	for i := range 10 {
		a.get(t, "k", string(rune('a'+i))) // 1000 bytes and some per entry
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("10 misses took %v with the writes stuck", d)
	}
	s := a.shared.Stats()
	if s.DroppedFull != 8 || s.QueuedWrites != 2 || s.QueuedBytes > 3000 {
		t.Errorf("stats %+v: want 2 queued (3000 bytes hold 2), 8 dropped", s)
	}
}

// Purge removes the original's variants from the store (and counts each
// variant once over every tier), and leaves other originals alone.
func TestSharedPurge(t *testing.T) {
	store := sharedtest.NewMem()
	a, b := newInstance(t, store, nil), newInstance(t, store, nil)
	for _, v := range []string{"1", "2", "3"} {
		a.get(t, "cat.jpg", v)
	}
	a.get(t, "dog.jpg", "1")
	flush(t, a)
	b.get(t, "cat.jpg", "4")
	flush(t, b)
	// b holds 4 in memory, and the store all four: four variants.
	n, err := b.c.Purge("cat.jpg")
	if err != nil || n != 4 {
		t.Fatalf("purge: %d, %v; want 4", n, err)
	}
	if keys := entryKeys(store); len(keys) != 1 {
		t.Errorf("left in the store: %q, want dog.jpg's one", keys)
	}
	c := newInstance(t, store, nil)
	if _, tier := c.get(t, "cat.jpg", "1"); tier != cache.TierMiss {
		t.Errorf("purged variant: %s, want miss", tier)
	}
	if _, tier := c.get(t, "dog.jpg", "1"); tier != cache.TierShared {
		t.Errorf("other original: %s, want shared", tier)
	}
	store.Down.Store(true)
	if _, err := b.c.Purge("dog.jpg"); err == nil {
		t.Error("purge with the store down reported success")
	}
}

// A write queued before a purge of its original is not put back after.
func TestSharedPurgeDropsQueuedWrites(t *testing.T) {
	store := sharedtest.NewMem()
	a := newInstance(t, store, func(c *cache.SharedConfig) { c.Writers = 1 })
	release := store.HoldPuts()
	a.get(t, "dog.jpg", "1") // holds the writer
	a.get(t, "cat.jpg", "1") // queued behind it
	// The purge's notice to the other instances is a put too: it waits
	// with the writer, after the purge has removed what was there.
	purged := make(chan error, 1)
	go func() {
		_, err := a.c.Purge("cat.jpg")
		purged <- err
	}()
	time.Sleep(100 * time.Millisecond)
	release()
	if err := <-purged; err != nil {
		t.Fatal(err)
	}
	flush(t, a)
	if keys := entryKeys(store); len(keys) != 1 || !bytes.Contains(store.Object(keys[0]), []byte("dog.jpg")) {
		t.Errorf("store holds %q, want dog.jpg's variant only", keys)
	}
}

// A hit on an object older than TouchAfter renews its modification time
// in the background, so that an age-based cleanup keeps what is read; a
// fresh one is left alone.
func TestSharedHitTouchesOldObjects(t *testing.T) {
	store := sharedtest.NewMem()
	a := newInstance(t, store, nil)
	a.get(t, "old.jpg", "w1")
	a.get(t, "new.jpg", "w1")
	flush(t, a)
	keys := entryKeys(store)
	for _, k := range keys {
		if strings.Contains(string(store.Object(k)), "old.jpg") {
			store.Age(k, 48*time.Hour)
		}
	}
	b := newInstance(t, store, func(c *cache.SharedConfig) { c.TouchAfter = time.Hour })
	for _, obj := range []string{"old.jpg", "new.jpg"} {
		if _, tier := b.get(t, obj, "w1"); tier != cache.TierShared {
			t.Fatalf("%s: %s, want shared", obj, tier)
		}
	}
	flush(t, b)
	if n := store.Touches.Load(); n != 1 {
		t.Errorf("%d touches, want 1 (the old object)", n)
	}
	var old []string
	store.List(context.Background(), "entries/", func(o cache.ObjectInfo) error {
		if time.Since(o.Modified) > time.Hour {
			old = append(old, o.Key)
		}
		return nil
	})
	if len(old) != 0 {
		t.Errorf("still old after the hit: %q", old)
	}
}

// A read-only tier reads and never writes: a miss is not stored, a purge
// says the shared copies stay, and the start check writes no probe. A
// writing tier whose bucket refuses writes fails its start check.
func TestSharedReadOnly(t *testing.T) {
	store := sharedtest.NewMem()
	writer := newInstance(t, store, nil)
	writer.get(t, "shared.jpg", "w1")
	flush(t, writer)
	puts := store.Puts.Load()

	ro := newInstance(t, store, func(c *cache.SharedConfig) { c.ReadOnly = true })
	if err := ro.shared.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, tier := ro.get(t, "shared.jpg", "w1"); tier != cache.TierShared {
		t.Errorf("read-only hit: %s", tier)
	}
	ro.get(t, "local.jpg", "w1")
	flush(t, ro)
	if store.Puts.Load() != puts {
		t.Errorf("the read-only tier wrote %d objects", store.Puts.Load()-puts)
	}
	if _, err := ro.c.Purge("shared.jpg"); err == nil || !strings.Contains(err.Error(), "read_only") {
		t.Errorf("purge through a read-only tier: %v, want an error naming read_only", err)
	}
	// Its purge follower reads notices and deletes none, not even old or
	// malformed ones (those that write clean them up).
	notice(store, time.Now().Add(-8*24*time.Hour), "old.jpg")
	store.SetObject("purges/garbage", []byte("?"))
	before := len(store.Keys())
	f, err := ro.shared.NewPurgeFollower("", func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(store.Keys()) != before {
		t.Errorf("the read-only follower deleted %d objects", before-len(store.Keys()))
	}

	store.DenyWrites.Store(true)
	err = newInstance(t, store, nil).shared.Check(context.Background())
	if !errors.Is(err, cache.ErrStoreRefused) || !strings.Contains(err.Error(), "read_only") {
		t.Errorf("check of a bucket refusing writes: %v, want ErrStoreRefused naming read_only", err)
	}
}
