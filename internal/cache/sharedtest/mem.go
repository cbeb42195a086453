// Package sharedtest holds what tests of the shared cache tier need: one
// conformance suite that every cache.Store runs (the in-memory one here and
// S3 on versitygw), and an in-memory store that can be made to fail. It is
// imported by tests only.
package sharedtest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/imgproxy-team/imgproxy/internal/cache"
)

// Mem is a cache.Store in memory. Down makes every call fail (after ctx
// is done, when Hang is set too, as a store that never answers).
type Mem struct {
	*memData
	prefix string

	Down, Hang atomic.Bool
	Gets, Puts atomic.Int64
	hold       atomic.Pointer[chan struct{}]
}

// HoldPuts makes every Put wait (for its context at most) until release
// is called.
func (m *Mem) HoldPuts() (release func()) {
	ch := make(chan struct{})
	m.hold.Store(&ch)
	return func() { m.hold.Store(nil); close(ch) }
}

var _ cache.Store = (*Mem)(nil)

// memData is what views of one store share.
type memData struct {
	mu      sync.Mutex
	objects map[string][]byte
}

// NewMem returns an empty store.
func NewMem() *Mem { return &Mem{memData: &memData{objects: map[string][]byte{}}} }

// WithPrefix is a view of the same objects under another prefix, with
// faults and counters of its own.
func (m *Mem) WithPrefix(p string) *Mem { return &Mem{memData: m.memData, prefix: m.prefix + p} }

// Object returns a stored object's bytes (nil when none), for tests.
func (m *Mem) Object(key string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.objects[m.prefix+key]
}

// SetObject stores bytes directly, as a foreign writer would.
func (m *Mem) SetObject(key string, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[m.prefix+key] = b
}

// Keys returns every key under the store's prefix, sorted.
func (m *Mem) Keys() []string {
	var keys []string
	_ = m.List(context.Background(), "", func(k string) error { keys = append(keys, k); return nil })
	return keys
}

var errDown = errors.New("mem store: down")

func (m *Mem) fault(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !m.Down.Load() {
		return nil
	}
	if m.Hang.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return errDown
}

// Get implements cache.Store.
func (m *Mem) Get(ctx context.Context, key string, limit int64) ([]byte, error) {
	m.Gets.Add(1)
	if err := m.fault(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objects[m.prefix+key]
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: %s", cache.ErrNoObject, key)
	case int64(len(b)) > limit:
		return nil, fmt.Errorf("%w: %s", cache.ErrObjectTooLarge, key)
	}
	return append([]byte(nil), b...), nil
}

// Put implements cache.Store.
func (m *Mem) Put(ctx context.Context, key string, body []byte, ifAbsent bool) error {
	m.Puts.Add(1)
	if ch := m.hold.Load(); ch != nil {
		select {
		case <-*ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := m.fault(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objects[m.prefix+key]; ok && ifAbsent {
		return fmt.Errorf("%w: %s", cache.ErrObjectExists, key)
	}
	m.objects[m.prefix+key] = append([]byte(nil), body...)
	return nil
}

// List implements cache.Store.
func (m *Mem) List(ctx context.Context, prefix string, fn func(string) error) error {
	if err := m.fault(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	var keys []string
	for k := range m.objects {
		if strings.HasPrefix(k, m.prefix+prefix) {
			keys = append(keys, k[len(m.prefix):])
		}
	}
	m.mu.Unlock()
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn(k); err != nil {
			return err
		}
	}
	return nil
}

// Delete implements cache.Store.
func (m *Mem) Delete(ctx context.Context, key string) error {
	if err := m.fault(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objects, m.prefix+key)
	return nil
}
