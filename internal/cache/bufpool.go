package cache

import (
	"math/bits"
	"sync"
)

// Read buffers for disk entries that are used once (the memory tier is off
// or will not keep them), recycled by power-of-two size class: without
// them every disk hit allocated its file's size, and at 13,000 hits/s of
// 33 KB the garbage collector took a quarter of the server's CPU.
const (
	minBufShift = 12 // 4 KiB
	maxBufShift = 24 // 16 MiB; larger entries are allocated as before
)

var bufPools [maxBufShift - minBufShift + 1]sync.Pool

// bufClass is the pool index for a buffer of at least n bytes, or -1 when n
// is too large to pool.
func bufClass(n int) int {
	if n <= 1<<minBufShift {
		return 0
	}
	shift := bits.Len(uint(n - 1)) // smallest power of two >= n
	if shift > maxBufShift {
		return -1
	}
	return shift - minBufShift
}

// getBuf returns a buffer of length n, pooled when n allows (then *p is the
// buffer to give back with putBuf; nil otherwise).
func getBuf(n int) (b []byte, p *[]byte) {
	c := bufClass(n)
	if c < 0 {
		return make([]byte, n), nil
	}
	if v, ok := bufPools[c].Get().(*[]byte); ok {
		return (*v)[:n], v
	}
	buf := make([]byte, 1<<(c+minBufShift))
	return buf[:n], &buf
}

// putBuf gives back a buffer from getBuf; nothing may use it afterwards.
func putBuf(p *[]byte) {
	if p == nil {
		return
	}
	if c := bufClass(cap(*p)); c >= 0 && cap(*p) == 1<<(c+minBufShift) {
		bufPools[c].Put(p)
	}
}
