package cache

import (
	"encoding/binary"
	"encoding/hex"
	"sync"
)

// diskIndex is the disk tier's view of what it holds: each entry's size and
// access order, kept in memory so that the byte budget can be enforced
// (diskv bounds only its own memory cache, not the disk). Access order is
// approximate after a restart: the rebuild orders entries by file time.
//
// It is sized for millions of entries: an entry is a 64-byte node in one
// slice, linked by index rather than by pointer (nothing for the garbage
// collector to trace), and a map from 64 bits of its name (hashes already)
// to the node; names that share those bits, about one pair in 10^7 among
// a million entries, go to a second map. About 100 bytes an entry in all
// (BenchmarkDiskIndexScale), where a list.Element, a boxed struct and a
// 97-byte hex key in a string-keyed map took about 230.
type diskIndex struct {
	budget int64

	mu        sync.Mutex
	used      int64
	nodes     []indexNode // nodes[0] is the list's head: next is the most recently used, prev the least
	free      []int32     // unused nodes
	items     map[uint64]int32
	clash     map[entryID]int32 // entries whose short name another entry has in items
	evictions int64
}

// entryID is an entry's diskKey in binary: the original's hash (16 bytes)
// and the variant's cache key (32).
type entryID [16 + 32]byte

type indexNode struct {
	id         entryID
	size       int64 // file size in bytes
	prev, next int32
}

// parseEntryID reads a diskKey ("<32 hex>/<64 hex>").
func parseEntryID(key string) (id entryID, ok bool) {
	if len(key) != 32+1+64 || key[32] != '/' {
		return id, false
	}
	if _, err := hex.Decode(id[:16], []byte(key[:32])); err != nil {
		return id, false
	}
	_, err := hex.Decode(id[16:], []byte(key[33:]))
	return id, err == nil
}

// short is 64 bits of the name: both parts are SHA-256 digests.
func (id *entryID) short() uint64 {
	return binary.LittleEndian.Uint64(id[:8]) ^ binary.LittleEndian.Uint64(id[16:24])
}

// lookup returns id's node.
func (x *diskIndex) lookup(id *entryID) (int32, bool) {
	if n, ok := x.items[id.short()]; ok && x.nodes[n].id == *id {
		return n, true
	}
	if len(x.clash) > 0 {
		n, ok := x.clash[*id]
		return n, ok
	}
	return 0, false
}

// key is the diskKey id was read from.
func (id entryID) key() string {
	var b [32 + 1 + 64]byte
	hex.Encode(b[:32], id[:16])
	b[32] = '/'
	hex.Encode(b[33:], id[16:])
	return string(b[:])
}

func newDiskIndex(budget int64) *diskIndex {
	return &diskIndex{budget: budget, nodes: make([]indexNode, 1), items: map[uint64]int32{}, clash: map[entryID]int32{}}
}

// touch marks key recently used, and reports whether it is indexed.
func (x *diskIndex) touch(key string) bool {
	id, ok := parseEntryID(key)
	if !ok {
		return false
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	n, ok := x.lookup(&id)
	if ok {
		x.unlink(n)
		x.linkAfter(n, 0)
	}
	return ok
}

// reserve accounts size bytes for key, as most recently used, and returns
// the keys to delete so that the total stays within the budget. Callers
// delete those files before writing key's, so the directory never holds
// more than the budget plus the one entry being written.
func (x *diskIndex) reserve(key string, size int64) (victims []string) {
	id, ok := parseEntryID(key)
	if !ok {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(id)
	for x.used+size > x.budget && x.count() > 0 {
		victims = append(victims, x.evictLocked())
	}
	x.insertAfter(id, size, 0)
	return victims
}

// add indexes an entry found on disk, as least recently used of those known,
// unless it is already indexed. It returns victims as reserve does.
func (x *diskIndex) add(key string, size int64) (victims []string) {
	id, ok := parseEntryID(key)
	if !ok {
		return nil
	}
	return x.addID(id, size)
}

func (x *diskIndex) addID(id entryID, size int64) (victims []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.lookup(&id); ok {
		return nil
	}
	x.insertAfter(id, size, x.nodes[0].prev)
	for x.used > x.budget && x.count() > 1 {
		victims = append(victims, x.evictLocked())
	}
	return victims
}

// remove forgets key.
func (x *diskIndex) remove(key string) {
	if id, ok := parseEntryID(key); ok {
		x.mu.Lock()
		defer x.mu.Unlock()
		x.removeLocked(id)
	}
}

func (x *diskIndex) stats() (entries int, used, evictions int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.count(), x.used, x.evictions
}

func (x *diskIndex) count() int { return len(x.items) + len(x.clash) }

// insertAfter indexes a new entry after node at.
func (x *diskIndex) insertAfter(id entryID, size int64, at int32) {
	var n int32
	if k := len(x.free); k > 0 {
		n, x.free = x.free[k-1], x.free[:k-1]
	} else {
		x.nodes = append(x.nodes, indexNode{})
		n = int32(len(x.nodes) - 1)
	}
	x.nodes[n] = indexNode{id: id, size: size}
	x.linkAfter(n, at)
	if _, taken := x.items[id.short()]; taken {
		x.clash[id] = n
	} else {
		x.items[id.short()] = n
	}
	x.used += size
}

// evictLocked removes the least recently used entry and returns its key.
func (x *diskIndex) evictLocked() string {
	id := x.nodes[x.nodes[0].prev].id
	x.removeLocked(id)
	x.evictions++
	return id.key()
}

func (x *diskIndex) removeLocked(id entryID) {
	n, ok := x.lookup(&id)
	if !ok {
		return
	}
	x.used -= x.nodes[n].size
	x.unlink(n)
	x.free = append(x.free, n)
	if _, ok := x.clash[id]; ok {
		delete(x.clash, id)
		return
	}
	h := id.short()
	delete(x.items, h)
	for other, m := range x.clash { // one that waited for the short name takes it
		if other.short() == h {
			delete(x.clash, other)
			x.items[h] = m
			break
		}
	}
}

func (x *diskIndex) unlink(n int32) {
	p, nx := x.nodes[n].prev, x.nodes[n].next
	x.nodes[p].next, x.nodes[nx].prev = nx, p
}

func (x *diskIndex) linkAfter(n, at int32) {
	nx := x.nodes[at].next
	x.nodes[n].prev, x.nodes[n].next = at, nx
	x.nodes[at].next, x.nodes[nx].prev = n, n
}
