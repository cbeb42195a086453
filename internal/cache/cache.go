package cache

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/imgproxy-team/imgproxy/internal/lru"
	"github.com/imgproxy-team/imgproxy/internal/params"
)

// Config sizes the cache.
type Config struct {
	// MemorySize is the memory tier's byte budget; 0 disables the tier.
	MemorySize int64
	// MaxEntryFraction: an entry larger than this fraction of MemorySize is
	// not kept, so that one huge image cannot flush many small ones.
	MaxEntryFraction float64
	// FillTimeout bounds one fill (origin fetch and transform), which runs
	// on its own context so that no single client can cancel it for the
	// others waiting on it.
	FillTimeout time.Duration
}

// Cache looks up finished responses and coalesces the work of filling them.
type Cache struct {
	mem         *lru.Cache[params.Key, *Entry] // nil when disabled
	flights     singleflight.Group
	fillTimeout time.Duration

	hits      [2]atomic.Int64 // memory, disk
	fills     atomic.Int64    // fills run (flight leaders)
	coalesced atomic.Int64    // requests that waited on another's fill
	fillErrs  atomic.Int64
}

// New returns a cache.
func New(cfg Config) *Cache {
	c := &Cache{fillTimeout: cfg.FillTimeout}
	if cfg.MemorySize > 0 {
		frac := cfg.MaxEntryFraction
		if frac <= 0 || frac > 1 {
			frac = 1
		}
		c.mem = lru.New[params.Key, *Entry](cfg.MemorySize, int64(float64(cfg.MemorySize)*frac), 0)
	}
	return c
}

// Fill produces an entry on a miss. Its error is returned to every waiter
// and never cached.
type Fill func(ctx context.Context) (*Entry, error)

// Get returns the entry for key: from memory, or by running fill once for
// all concurrent callers of the same key. Each caller returns when its own
// ctx is done, even while the shared fill goes on.
func (c *Cache) Get(ctx context.Context, key params.Key, fill Fill) (*Entry, Tier, error) {
	if e, ok := c.lookup(key); ok {
		c.hits[0].Add(1)
		return e, TierMemory, nil
	}
	leader := false
	ch := c.flights.DoChan(string(key[:]), func() (v any, err error) {
		leader = true
		// singleflight re-raises a panic on a goroutine of its own, which
		// would end the process: turn it into this request's error instead.
		defer func() {
			if p := recover(); p != nil {
				v, err = nil, fmt.Errorf("fill panicked: %v", p)
			}
		}()
		c.fills.Add(1)
		// Another flight for this key may have finished between our lookup
		// and this one starting: its result is in memory, so use it rather
		// than doing the work again.
		if e, ok := c.lookup(key); ok {
			return e, nil
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.fillTimeout)
		defer cancel()
		e, err := fill(fctx)
		if err != nil {
			c.fillErrs.Add(1)
			return nil, err
		}
		c.store(key, e)
		return e, nil
	})
	select {
	case r := <-ch:
		if !leader {
			c.coalesced.Add(1)
		}
		if r.Err != nil {
			return nil, TierMiss, r.Err
		}
		return r.Val.(*Entry), TierMiss, nil
	case <-ctx.Done():
		return nil, TierMiss, ctx.Err()
	}
}

func (c *Cache) lookup(key params.Key) (*Entry, bool) {
	if c.mem == nil {
		return nil, false
	}
	return c.mem.Get(key)
}

func (c *Cache) store(key params.Key, e *Entry) {
	if c.mem != nil {
		c.mem.Add(key, e, e.size())
	}
}

// Stats is a snapshot of the cache's counters.
type Stats struct {
	Memory     lru.Stats
	MemoryHits int64
	Fills      int64
	Coalesced  int64
	FillErrors int64
}

// Stats returns the cache's counters.
func (c *Cache) Stats() Stats {
	s := Stats{
		MemoryHits: c.hits[0].Load(),
		Fills:      c.fills.Load(),
		Coalesced:  c.coalesced.Load(),
		FillErrors: c.fillErrs.Load(),
	}
	if c.mem != nil {
		s.Memory = c.mem.Stats()
	}
	return s
}
