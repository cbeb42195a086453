// Package ratelimit limits how often one client may cause new work: a
// token bucket per client address, applied by the server to cache misses
// only (hits cost nothing and are never limited). It also owns finding the
// client's address behind trusted proxies such as Cloudflare.
package ratelimit

import (
	"math"
	"net/netip"
	"sync"
	"time"
)

// Limiter is a token bucket per client. It is safe for concurrent use, and
// its memory is bounded by maxClients.
type Limiter struct {
	rate       float64 // tokens per second
	burst      float64
	maxClients int
	now        func() time.Time

	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a limiter allowing rate events per second per client, with
// bursts of up to burst, tracking at most maxClients clients.
func New(rate float64, burst int, maxClients int) *Limiter {
	return &Limiter{
		rate: rate, burst: float64(max(burst, 1)), maxClients: max(maxClients, 1),
		now: time.Now, buckets: map[netip.Addr]*bucket{},
	}
}

// Allow takes a token for client, or reports how long until one is free.
func (l *Limiter) Allow(client netip.Addr) (ok bool, retryAfter time.Duration) {
	key := clientKey(client)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, found := l.buckets[key]
	if !found {
		if len(l.buckets) >= l.maxClients {
			l.sweep(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// sweep forgets clients whose bucket has refilled: they are no different
// from a client never seen. If every client is active (a flood from more
// addresses than maxClients), it forgets them all rather than grow.
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= l.maxClients {
		clear(l.buckets)
	}
}

// clientKey groups IPv6 clients by their /64: one subscriber gets a whole
// /64 and could otherwise take a fresh address for every request.
func clientKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}
