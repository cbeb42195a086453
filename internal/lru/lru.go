// Package lru is a byte-budgeted least-recently-used cache with an optional
// time to live: the building block of the memory tier and of the short-lived
// cache of originals.
package lru

import (
	"container/list"
	"sync"
	"time"
)

// Cache holds values up to a byte budget, evicting the least recently used
// first. Values are treated as immutable: callers must not modify a value
// after adding it or after getting it. It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	budget   int64
	maxEntry int64
	ttl      time.Duration
	now      func() time.Time

	mu        sync.Mutex
	used      int64
	order     *list.List // front is most recently used; elements hold *entry[K, V]
	items     map[K]*list.Element
	evictions int64
}

type entry[K comparable, V any] struct {
	key     K
	val     V
	size    int64
	expires time.Time // zero without a TTL
}

// New returns a cache of budget bytes. An entry larger than maxEntry bytes is
// not admitted (so one huge value cannot flush everything else); ttl, when
// positive, bounds how long an entry is served.
func New[K comparable, V any](budget, maxEntry int64, ttl time.Duration) *Cache[K, V] {
	if maxEntry <= 0 || maxEntry > budget {
		maxEntry = budget
	}
	return &Cache[K, V]{
		budget:   budget,
		maxEntry: maxEntry,
		ttl:      ttl,
		now:      time.Now,
		order:    list.New(),
		items:    make(map[K]*list.Element),
	}
}

// Get returns the value for k and marks it recently used.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	e := el.Value.(*entry[K, V])
	if c.ttl > 0 && c.now().After(e.expires) {
		c.remove(el)
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.val, true
}

// Add stores v under k, counting size bytes against the budget, and evicts
// the least recently used entries until the budget holds. It reports whether
// the value was admitted.
func (c *Cache[K, V]) Add(k K, v V, size int64) bool {
	if size > c.maxEntry || size < 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.remove(el)
	}
	e := &entry[K, V]{key: k, val: v, size: size}
	if c.ttl > 0 {
		e.expires = c.now().Add(c.ttl)
	}
	c.items[k] = c.order.PushFront(e)
	c.used += size
	for c.used > c.budget {
		c.remove(c.order.Back())
		c.evictions++
	}
	return true
}

// Remove deletes k, reporting whether it was present.
func (c *Cache[K, V]) Remove(k K) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if ok {
		c.remove(el)
	}
	return ok
}

// RemoveFunc deletes every entry for which match returns true and returns
// how many it deleted. It holds the lock throughout, so match must be quick.
func (c *Cache[K, V]) RemoveFunc(match func(K, V) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for el := c.order.Front(); el != nil; {
		next := el.Next()
		if e := el.Value.(*entry[K, V]); match(e.key, e.val) {
			c.remove(el)
			n++
		}
		el = next
	}
	return n
}

func (c *Cache[K, V]) remove(el *list.Element) {
	e := c.order.Remove(el).(*entry[K, V])
	delete(c.items, e.key)
	c.used -= e.size
}

// Stats is a snapshot of the cache's usage.
type Stats struct {
	Entries   int
	Used      int64 // bytes
	Budget    int64 // bytes
	Evictions int64 // entries evicted for space since the start
}

// Stats returns current usage.
func (c *Cache[K, V]) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Entries: len(c.items), Used: c.used, Budget: c.budget, Evictions: c.evictions}
}
