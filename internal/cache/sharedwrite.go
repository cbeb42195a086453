package cache

import (
	"context"
	"errors"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/params"
)

// sharedWrite is one queued write: an entry (immutable, encoded by the
// writer, off the request's path), or the touch of an object read.
type sharedWrite struct {
	key    params.Key
	e      *Entry
	touch  string // the object to touch, instead of an entry to write,
	body   []byte // with the bytes and version read
	etag   string
	size   int64
	queued time.Time
}

// Put queues e to be written in the background and returns at once. A write
// that would overfill the queue (in writes or bytes), or that comes while
// the store is failing, is dropped and counted: the variant is simply made
// again by whoever misses it next.
func (s *Shared) Put(key params.Key, e *Entry) {
	s.enqueue(sharedWrite{key: key, e: e, size: e.size(), queued: time.Now()})
}

// enqueue queues a write or a touch, or drops it (and counts that).
func (s *Shared) enqueue(w sharedWrite) {
	if s.readOnly {
		return
	}
	if s.paused() {
		s.droppedDown.Add(1)
		return
	}
	if s.queuedBytes.Add(w.size) > s.queueBytes {
		s.queuedBytes.Add(-w.size)
		s.droppedFull.Add(1)
		return
	}
	s.queued.Add(1)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.closed {
		select {
		case s.queue <- w:
			return
		default:
		}
	}
	s.done(w)
	s.droppedFull.Add(1)
}

// done takes a write off the queue's accounts.
func (s *Shared) done(w sharedWrite) {
	s.queuedBytes.Add(-w.size)
	s.queued.Add(-1)
}

func (s *Shared) writer() {
	defer s.writers.Done()
	for w := range s.queue {
		s.write(w)
		s.done(w)
	}
}

// write stores one entry: only if absent (a variant another instance wrote
// first is the same bytes), unless the object there was found bad.
func (s *Shared) write(w sharedWrite) {
	if w.touch != "" {
		s.touch(w)
		return
	}
	if at, ok := s.purged.Get(w.e.ObjectKey); ok && !at.Before(w.queued) {
		return // purged since: the entry may be of the old original
	}
	if s.paused() {
		s.droppedDown.Add(1)
		return
	}
	k := sharedKey(w.e.ObjectKey, w.key)
	_, bad := s.bad.Get(k)
	ctx, cancel := context.WithTimeout(context.Background(), s.writeTimeout)
	defer cancel()
	err := s.store.Put(ctx, k, encodeEntry(w.e), !bad)
	switch {
	case errors.Is(err, ErrObjectExists):
		s.recovered()
		s.exists.Add(1)
	case err != nil:
		s.putErrs.Add(1)
		s.fail("write", err)
	default:
		s.recovered()
		s.writes.Add(1)
		if bad {
			s.bad.Remove(k)
		}
	}
}

// touch refreshes an object's modification time; one that is gone (a
// purge, a cleanup) stays gone.
func (s *Shared) touch(w sharedWrite) {
	if s.paused() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.writeTimeout)
	defer cancel()
	switch err := s.store.Touch(ctx, w.touch, w.body, w.etag); {
	case err == nil:
		s.recovered()
		s.touches.Add(1)
	case errors.Is(err, ErrNoObject):
		s.recovered()
	default:
		s.putErrs.Add(1)
		s.fail("touch", err)
	}
}

// Flush waits until every write queued so far is done, or ctx is.
func (s *Shared) Flush(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for s.queued.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Close stops taking writes and waits for the queued ones until ctx is
// done; those still queued then are lost (they are only an optimisation).
// A nil Shared closes as a no-op.
func (s *Shared) Close(ctx context.Context) {
	if s == nil {
		return
	}
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.queue)
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.writers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
