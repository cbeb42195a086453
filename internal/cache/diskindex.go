package cache

import (
	"container/list"
	"sync"
)

// diskIndex is the disk tier's view of what it holds: each entry's size and
// access order, kept in memory so that the byte budget can be enforced
// (diskv bounds only its own memory cache, not the disk). Access order is
// approximate after a restart: the rebuild orders entries by file time.
type diskIndex struct {
	budget int64

	mu        sync.Mutex
	used      int64
	order     *list.List // front: most recently used; values are *indexEntry
	items     map[string]*list.Element
	evictions int64
}

type indexEntry struct {
	key  string // diskv key
	size int64  // file size in bytes
}

func newDiskIndex(budget int64) *diskIndex {
	return &diskIndex{budget: budget, order: list.New(), items: map[string]*list.Element{}}
}

// touch marks key recently used, and reports whether it is indexed.
func (x *diskIndex) touch(key string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	el, ok := x.items[key]
	if ok {
		x.order.MoveToFront(el)
	}
	return ok
}

// reserve accounts size bytes for key, as most recently used, and returns
// the keys to delete so that the total stays within the budget. Callers
// delete those files before writing key's, so the directory never holds
// more than the budget plus the one entry being written.
func (x *diskIndex) reserve(key string, size int64) (victims []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(key)
	for x.used+size > x.budget && x.order.Len() > 0 {
		e := x.order.Back().Value.(*indexEntry)
		x.removeLocked(e.key)
		x.evictions++
		victims = append(victims, e.key)
	}
	x.items[key] = x.order.PushFront(&indexEntry{key: key, size: size})
	x.used += size
	return victims
}

// add indexes an entry found on disk, as least recently used of those known,
// unless it is already indexed. It returns victims as reserve does.
func (x *diskIndex) add(key string, size int64) (victims []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.items[key]; ok {
		return nil
	}
	x.items[key] = x.order.PushBack(&indexEntry{key: key, size: size})
	x.used += size
	for x.used > x.budget && x.order.Len() > 1 {
		e := x.order.Back().Value.(*indexEntry)
		x.removeLocked(e.key)
		x.evictions++
		victims = append(victims, e.key)
	}
	return victims
}

// remove forgets key.
func (x *diskIndex) remove(key string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(key)
}

func (x *diskIndex) removeLocked(key string) {
	if el, ok := x.items[key]; ok {
		x.used -= el.Value.(*indexEntry).size
		x.order.Remove(el)
		delete(x.items, key)
	}
}

// removeMatching forgets every key for which match is true and returns them.
func (x *diskIndex) removeMatching(match func(string) bool) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []string
	for key := range x.items {
		if match(key) {
			out = append(out, key)
		}
	}
	for _, key := range out {
		x.removeLocked(key)
	}
	return out
}

func (x *diskIndex) stats() (entries int, used, evictions int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.items), x.used, x.evictions
}
