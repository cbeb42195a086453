package origin

import (
	"context"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/imgproxy-team/imgproxy/internal/lru"
)

// Shared wraps an Origin so that concurrent fetches of one key cost one
// fetch, and a key fetched a moment ago costs none: the widths of one
// srcset, requested together, share one origin GET. Errors are never kept.
type Shared struct {
	origin Origin
	cache  *lru.Cache[string, *Object] // nil when disabled
	group  singleflight.Group
	// forgotten remembers recent Forget calls, so that a fetch that started
	// before one does not keep the old original.
	forgotten *lru.Cache[string, time.Time]

	hits, fetches, coalesced, waiting atomic.Int64
}

var _ Origin = (*Shared)(nil)

// NewShared wraps o. Fetched originals are kept for ttl in a cache of budget
// bytes (one original at most budget/4); a budget of 0 disables the cache
// but keeps the coalescing.
func NewShared(o Origin, budget int64, ttl time.Duration) *Shared {
	s := &Shared{origin: o, forgotten: lru.New[string, time.Time](10_000, 1, 10*time.Minute)}
	if budget > 0 {
		s.cache = lru.New[string, *Object](budget, budget/4, ttl)
	}
	return s
}

// Fetch returns the original for key from the cache, from a fetch already in
// flight, or from a new fetch. The fetch runs on a context that no caller
// can cancel (the wrapped origin's own timeout bounds it), so one impatient
// client does not fail the others; each caller still returns as soon as its
// own ctx is done.
func (s *Shared) Fetch(ctx context.Context, key string) (*Object, error) {
	if ctx.Err() != nil {
		return nil, ctxError(ctx, key)
	}
	if obj, ok := s.cached(key); ok {
		return obj, nil
	}
	s.waiting.Add(1)
	defer s.waiting.Add(-1)

	leader := false
	ch := s.group.DoChan(key, func() (any, error) {
		leader = true
		// Checked again: between this caller's miss above and the start of
		// this flight, a previous flight for the key may have finished and
		// filled the cache; without this check that costs a second fetch.
		if obj, ok := s.cached(key); ok {
			return obj, nil
		}
		s.fetches.Add(1)
		start := time.Now()
		obj, err := s.origin.Fetch(context.WithoutCancel(ctx), key)
		if err != nil {
			return nil, err
		}
		if at, ok := s.forgotten.Get(key); ok && !at.Before(start) {
			return obj, nil // forgotten while fetching: answer, keep nothing
		}
		if s.cache != nil {
			s.cache.Add(key, obj, int64(len(obj.Body)))
		}
		return obj, nil
	})
	select {
	case r := <-ch:
		if !leader {
			s.coalesced.Add(1)
		}
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Object), nil
	case <-ctx.Done():
		return nil, ctxError(ctx, key)
	}
}

func (s *Shared) cached(key string) (*Object, bool) {
	if s.cache == nil {
		return nil, false
	}
	obj, ok := s.cache.Get(key)
	if ok {
		s.hits.Add(1)
	}
	return obj, ok
}

// Forget drops key from the cache, and makes the next fetch of key start
// afresh rather than join one already in flight; a fetch in flight when it
// is called does not keep its result.
func (s *Shared) Forget(key string) {
	s.forgotten.Add(key, time.Now(), 1)
	s.group.Forget(key)
	if s.cache != nil {
		s.cache.Remove(key)
	}
}

// SharedStats counts what Shared did since it was made.
type SharedStats struct {
	Hits      int64     // fetches answered from the cache
	Fetches   int64     // fetches passed on to the wrapped origin
	Coalesced int64     // fetches that waited for another caller's fetch
	Waiting   int64     // callers waiting for a fetch right now
	Cache     lru.Stats // zero when the cache is disabled
}

// Stats returns the counters.
func (s *Shared) Stats() SharedStats {
	st := SharedStats{
		Hits:      s.hits.Load(),
		Fetches:   s.fetches.Load(),
		Coalesced: s.coalesced.Load(),
		Waiting:   s.waiting.Load(),
	}
	if s.cache != nil {
		st.Cache = s.cache.Stats()
	}
	return st
}
