package cache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/params"
)

func key(s string) params.Key { return params.CacheKey("/"+s, params.FormatDefault) }

func entry(n int) *Entry { return &Entry{Body: make([]byte, n), ContentType: "image/jpeg"} }

func TestCoalescing(t *testing.T) {
	c := New(Config{MemorySize: 1 << 20, FillTimeout: time.Second})
	var fills atomic.Int64
	release := make(chan struct{})
	fill := func(ctx context.Context) (*Entry, error) {
		fills.Add(1)
		<-release
		return entry(10), nil
	}
	const n = 10
	var wg sync.WaitGroup
	results := make(chan Tier, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, tier, err := c.Get(context.Background(), "obj", key("a"), fill)
			if err != nil || len(e.Body) != 10 {
				t.Errorf("get: %v", err)
			}
			results <- tier
		}()
	}
	// Let every goroutine join the flight before it finishes.
	for c.Stats().Fills == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	if fills.Load() != 1 {
		t.Errorf("%d fills for %d concurrent requests", fills.Load(), n)
	}
	if s := c.Stats(); s.Coalesced != n-1 {
		t.Errorf("coalesced %d, want %d", s.Coalesced, n-1)
	}
	// Now it is a memory hit.
	if _, tier, _ := c.Get(context.Background(), "obj", key("a"), fill); tier != TierMemory || fills.Load() != 1 {
		t.Errorf("second get: tier %s, fills %d", tier, fills.Load())
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	c := New(Config{MemorySize: 1 << 20, FillTimeout: time.Second})
	boom := errors.New("boom")
	calls := 0
	fill := func(context.Context) (*Entry, error) {
		calls++
		if calls == 1 {
			return nil, boom
		}
		return entry(1), nil
	}
	if _, _, err := c.Get(context.Background(), "obj", key("a"), fill); !errors.Is(err, boom) {
		t.Fatalf("first: %v", err)
	}
	if _, tier, err := c.Get(context.Background(), "obj", key("a"), fill); err != nil || tier != TierMiss || calls != 2 {
		t.Errorf("second: %v %s calls=%d", err, tier, calls)
	}
	p := func(context.Context) (*Entry, error) { panic("bug") }
	if _, _, err := c.Get(context.Background(), "obj", key("p"), p); err == nil {
		t.Error("panic not turned into an error")
	}
}

// A waiter gives up at its own deadline; the fill goes on for the others
// and is not cancelled by the impatient one.
func TestWaiterDeadline(t *testing.T) {
	c := New(Config{MemorySize: 1 << 20, FillTimeout: time.Second})
	release := make(chan struct{})
	var fillErr atomic.Value
	fill := func(ctx context.Context) (*Entry, error) {
		<-release
		if err := ctx.Err(); err != nil {
			fillErr.Store(err)
		}
		return entry(1), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, _, err := c.Get(context.Background(), "obj", key("a"), fill)
		done <- err
	}()
	start := time.Now()
	if _, _, err := c.Get(ctx, "obj", key("a"), fill); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("impatient waiter: %v", err)
	}
	if time.Since(start) > 500*time.Millisecond {
		t.Error("impatient waiter did not return at its deadline")
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("patient waiter: %v", err)
	}
	if v := fillErr.Load(); v != nil {
		t.Errorf("fill saw a cancelled context: %v", v)
	}
}

func TestFillTimeout(t *testing.T) {
	c := New(Config{MemorySize: 1 << 20, FillTimeout: 20 * time.Millisecond})
	fill := func(ctx context.Context) (*Entry, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if _, _, err := c.Get(context.Background(), "obj", key("a"), fill); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v", err)
	}
}

func TestBudgetAndAdmission(t *testing.T) {
	c := New(Config{MemorySize: 10_000, MaxEntryFraction: 0.25, FillTimeout: time.Second})
	get := func(k string, n int) Tier {
		_, tier, _ := c.Get(context.Background(), "obj", key(k), func(context.Context) (*Entry, error) { return entry(n), nil })
		return tier
	}
	get("big", 3000) // 3000+256 > 2500: not admitted
	if get("big", 3000) != TierMiss {
		t.Error("an entry over the admission fraction was kept")
	}
	for i := 0; i < 20; i++ {
		get(string(rune('a'+i)), 1000)
	}
	if s := c.Stats().Memory; s.Used > 10_000 || s.Entries != 7 {
		t.Errorf("budget: %+v", s)
	}
	off := New(Config{FillTimeout: time.Second})
	n := 0
	for i := 0; i < 2; i++ {
		off.Get(context.Background(), "obj", key("a"), func(context.Context) (*Entry, error) { n++; return entry(1), nil })
	}
	if n != 2 {
		t.Error("disabled memory tier kept an entry")
	}
}

// A purge while a fill is in flight: the fill answers its waiters but its
// result, perhaps made from the old original, is not kept.
func TestPurgeDuringFill(t *testing.T) {
	c := New(Config{MemorySize: 1 << 20, FillTimeout: time.Second})
	started, release := make(chan struct{}), make(chan struct{})
	fills := 0
	fill := func(context.Context) (*Entry, error) {
		fills++
		if fills == 1 {
			close(started)
			<-release
		}
		return &Entry{Body: []byte("x"), ObjectKey: "obj"}, nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, _, err := c.Get(context.Background(), "obj", key("a"), fill); err != nil {
			t.Error(err)
		}
	}()
	<-started
	c.Purge("obj")
	close(release)
	<-done
	if _, tier, _ := c.Get(context.Background(), "obj", key("a"), fill); tier != TierMiss || fills != 2 {
		t.Errorf("after a purge during the fill: tier %s, %d fills", tier, fills)
	}
	if _, tier, _ := c.Get(context.Background(), "obj", key("a"), fill); tier != TierMemory {
		t.Errorf("a fill after the purge is kept: tier %s", tier)
	}
}

// Purge counts variants: one in memory and on disk is one, one only on
// disk (from a previous run) is one too, another original's are none.
func TestPurgeCountsVariants(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, 1<<20)
	c := New(Config{MemorySize: 1 << 20, Disk: d, FillTimeout: time.Second})
	for _, obj := range []string{"cat.jpg", "dog.jpg"} {
		for _, w := range []string{"1", "2", "3"} {
			fill := func(context.Context) (*Entry, error) {
				return &Entry{Body: []byte(obj + w), ObjectKey: obj, Created: time.Now()}, nil
			}
			if _, _, err := c.Get(context.Background(), obj, key(obj+w), fill); err != nil {
				t.Fatal(err)
			}
		}
	}
	d.Put(key("cat.jpg4"), &Entry{Body: []byte("x"), ObjectKey: "cat.jpg", Created: time.Now()})
	if n, err := c.Purge("cat.jpg"); n != 4 || err != nil {
		t.Errorf("purged %d variants (%v), want 4", n, err)
	}
	if n, err := c.Purge("cat.jpg"); n != 0 || err != nil {
		t.Errorf("purged %d variants again (%v)", n, err)
	}
	if s := c.Stats(); s.Memory.Entries != 3 || s.Disk.Entries != 3 {
		t.Errorf("dog's variants: %d in memory, %d on disk", s.Memory.Entries, s.Disk.Entries)
	}
}
