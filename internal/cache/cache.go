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
	// not kept in memory, so that one huge image cannot flush many small
	// ones.
	MaxEntryFraction float64
	// MaxAge bounds how long an entry is served from memory (the disk tier
	// has its own); 0: no limit.
	MaxAge time.Duration
	// Disk is the disk tier below memory; nil disables it.
	Disk *Disk
	// Shared is the tier every instance shares, below disk and above the
	// origin; nil disables it.
	Shared *Shared
	// FillTimeout bounds one fill (origin fetch and transform), which runs
	// on its own context so that no single client can cancel it for the
	// others waiting on it.
	FillTimeout time.Duration
}

// Cache looks up finished responses in memory, then on disk, then in the
// shared tier, and coalesces the work of filling them: one flight per cache
// key. Coalescing is per instance: during a race, each instance may make a
// variant once.
type Cache struct {
	mem         *lru.Cache[params.Key, *Entry] // nil when disabled
	disk        *Disk                          // nil when disabled
	shared      *Shared                        // nil when disabled
	flights     singleflight.Group
	fillTimeout time.Duration
	// purged remembers recent purges, so that a fill that started before
	// one does not store what the purge meant to remove.
	purged *lru.Cache[string, time.Time]

	memHits   atomic.Int64
	fills     atomic.Int64 // fills run
	coalesced atomic.Int64 // requests that waited on another's flight
	fillErrs  atomic.Int64
}

// New returns a cache.
func New(cfg Config) *Cache {
	c := &Cache{disk: cfg.Disk, shared: cfg.Shared, fillTimeout: cfg.FillTimeout,
		purged: lru.New[string, time.Time](recentPurges, 1, 2*cfg.FillTimeout+time.Minute)}
	if cfg.MemorySize > 0 {
		frac := cfg.MaxEntryFraction
		if frac <= 0 || frac > 1 {
			frac = 1
		}
		c.mem = lru.New[params.Key, *Entry](cfg.MemorySize, int64(float64(cfg.MemorySize)*frac), cfg.MaxAge)
	}
	return c
}

// recentPurges is how many purges are remembered for fills in flight.
const recentPurges = 10_000

// Fill produces an entry on a miss. Its error is returned to every waiter
// and never cached.
type Fill func(ctx context.Context) (*Entry, error)

type flightResult struct {
	e    *Entry
	tier Tier
}

// Get returns the entry for key, a variant of the original objectKey: from
// memory, else from disk (promoted to memory), else from the shared tier
// (promoted to disk and memory), else by running fill once for all
// concurrent callers, whose result goes to every tier. Each caller returns when its own ctx is done,
// even while the shared work goes on.
func (c *Cache) Get(ctx context.Context, objectKey string, key params.Key, fill Fill) (*Entry, Tier, error) {
	if e, ok := c.memory(key); ok {
		c.memHits.Add(1)
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
		// A flight for this key may have finished between our lookup and
		// this one starting: its result is in memory, so use it rather
		// than doing the work again.
		if e, ok := c.memory(key); ok {
			return flightResult{e, TierMemory}, nil
		}
		if c.disk != nil {
			if e, ok := c.disk.Get(objectKey, key); ok {
				c.remember(key, e)
				return flightResult{e, TierDisk}, nil
			}
		}
		start := time.Now()
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.fillTimeout)
		defer cancel()
		if c.shared != nil {
			// Bounded by the tier's own timeout: a slow store delays a
			// miss by that much at most.
			if e, ok := c.shared.Get(fctx, objectKey, key); ok {
				c.remember(key, e)
				if c.disk != nil {
					c.disk.Put(key, e)
				}
				return flightResult{e, TierShared}, nil
			}
		}
		c.fills.Add(1)
		e, err := fill(fctx)
		if err != nil {
			c.fillErrs.Add(1)
			return nil, err
		}
		if at, ok := c.purged.Get(objectKey); ok && !at.Before(start) {
			// Purged while this fill ran, perhaps from the old original:
			// answer the waiters, keep nothing.
			return flightResult{e, TierMiss}, nil
		}
		c.remember(key, e)
		if c.disk != nil {
			c.disk.Put(key, e)
		}
		if c.shared != nil {
			c.shared.Put(key, e) // queued: never delays the response
		}
		return flightResult{e, TierMiss}, nil
	})
	select {
	case r := <-ch:
		if !leader {
			c.coalesced.Add(1)
		}
		if r.Err != nil {
			return nil, TierMiss, r.Err
		}
		fr := r.Val.(flightResult)
		return fr.e, fr.tier, nil
	case <-ctx.Done():
		return nil, TierMiss, ctx.Err()
	}
}

// Lookup returns a stored entry without filling: from memory, else from
// disk (promoted to memory). The server uses it to tell a hit from a miss
// before a miss is rate limited. The caller releases the entry (Release)
// once its response is written.
func (c *Cache) Lookup(objectKey string, key params.Key) (*Entry, Tier, bool) {
	if e, ok := c.memory(key); ok {
		c.memHits.Add(1)
		return e, TierMemory, true
	}
	if c.disk == nil {
		return nil, TierMiss, false
	}
	if c.mem == nil {
		// Nothing keeps it: borrow, so that serving from disk alone
		// allocates nothing per hit.
		if e, ok := c.disk.Borrow(objectKey, key); ok {
			return e, TierDisk, true
		}
		return nil, TierMiss, false
	}
	if e, ok := c.disk.Get(objectKey, key); ok {
		c.remember(key, e)
		return e, TierDisk, true
	}
	return nil, TierMiss, false
}

func (c *Cache) memory(key params.Key) (*Entry, bool) {
	if c.mem == nil {
		return nil, false
	}
	return c.mem.Get(key)
}

func (c *Cache) remember(key params.Key, e *Entry) {
	if c.mem != nil {
		c.mem.Add(key, e, e.size())
	}
}

// Purge removes every variant of the original objectKey from every tier
// and returns how many variants it removed: one that was in several tiers
// counts once. An error means that some are still on disk or in the shared
// tier. The shared tier's part is bounded by sharedPurgeTimeout.
func (c *Cache) Purge(objectKey string) (int, error) {
	c.purged.Add(objectKey, time.Now(), 1)
	variants := map[params.Key]bool{}
	if c.mem != nil {
		c.mem.RemoveFunc(func(k params.Key, e *Entry) bool {
			if e.ObjectKey != objectKey {
				return false
			}
			variants[k] = true
			return true
		})
	}
	if c.disk != nil {
		keys, err := c.disk.Purge(objectKey)
		if err != nil {
			return len(variants), err
		}
		for _, k := range keys {
			variants[k] = true
		}
	}
	if c.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedPurgeTimeout)
		defer cancel()
		keys, err := c.shared.Purge(ctx, objectKey)
		if err != nil {
			return len(variants), err
		}
		for _, k := range keys {
			variants[k] = true
		}
		// The other instances purge their own tiers when they see it.
		if err := c.shared.notifyPurge(ctx, objectKey); err != nil {
			return len(variants), err
		}
	}
	return len(variants), nil
}

// PurgeLocal removes every variant of objectKey from the memory and disk
// tiers only: what an instance does when another one purged the original
// (the shared tier's copies are gone already).
func (c *Cache) PurgeLocal(objectKey string) error {
	c.purged.Add(objectKey, time.Now(), 1)
	if c.mem != nil {
		c.mem.RemoveFunc(func(_ params.Key, e *Entry) bool { return e.ObjectKey == objectKey })
	}
	if c.disk != nil {
		if _, err := c.disk.Purge(objectKey); err != nil {
			return err
		}
	}
	return nil
}

// sharedPurgeTimeout bounds the shared tier's part of a purge: a listing
// and one delete per variant.
const sharedPurgeTimeout = 30 * time.Second

// Stats is a snapshot of the cache's counters.
type Stats struct {
	Memory     lru.Stats
	MemoryHits int64
	Disk       *DiskStats   // nil without a disk tier
	Shared     *SharedStats // nil without a shared tier
	Fills      int64
	Coalesced  int64
	FillErrors int64
}

// Stats returns the cache's counters.
func (c *Cache) Stats() Stats {
	s := Stats{
		MemoryHits: c.memHits.Load(),
		Fills:      c.fills.Load(),
		Coalesced:  c.coalesced.Load(),
		FillErrors: c.fillErrs.Load(),
	}
	if c.mem != nil {
		s.Memory = c.mem.Stats()
	}
	if c.disk != nil {
		ds := c.disk.Stats()
		s.Disk = &ds
	}
	if c.shared != nil {
		ss := c.shared.Stats()
		s.Shared = &ss
	}
	return s
}
