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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/cache"
)

// Mem is a cache.Store in memory. Down makes every call fail (after ctx
// is done, when Hang is set too, as a store that never answers).
type Mem struct {
	*memData
	prefix string

	// DenyWrites refuses every Put as a bucket policy would
	// (ErrStoreRefused), while reads go on.
	Down, Hang, DenyWrites atomic.Bool
	Gets, Puts, Touches    atomic.Int64
	hold                   atomic.Pointer[chan struct{}]
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
	objects map[string]memObject
}

type memObject struct {
	body     []byte
	modified time.Time
	version  int
}

func (o memObject) info(key string) cache.ObjectInfo {
	return cache.ObjectInfo{Key: key, Size: int64(len(o.body)), Modified: o.modified, ETag: strconv.Itoa(o.version)}
}

// versions numbers the objects' writes, as ETags.
var versions atomic.Int64

func newObject(body []byte) memObject {
	return memObject{append([]byte(nil), body...), time.Now(), int(versions.Add(1))}
}

// NewMem returns an empty store.
func NewMem() *Mem { return &Mem{memData: &memData{objects: map[string]memObject{}}} }

// WithPrefix is a view of the same objects under another prefix, with
// faults and counters of its own.
func (m *Mem) WithPrefix(p string) *Mem { return &Mem{memData: m.memData, prefix: m.prefix + p} }

// Object returns a stored object's bytes (nil when none), for tests.
func (m *Mem) Object(key string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.objects[m.prefix+key].body
}

// SetObject stores bytes directly, as a foreign writer would.
func (m *Mem) SetObject(key string, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[m.prefix+key] = newObject(b)
}

// Age moves an object's modification time back by d, as time passing
// would.
func (m *Mem) Age(key string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o, ok := m.objects[m.prefix+key]; ok {
		o.modified = o.modified.Add(-d)
		m.objects[m.prefix+key] = o
	}
}

// Keys returns every key under the store's prefix, sorted.
func (m *Mem) Keys() []string {
	var keys []string
	_ = m.List(context.Background(), "", func(o cache.ObjectInfo) error { keys = append(keys, o.Key); return nil })
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
func (m *Mem) Get(ctx context.Context, key string, limit int64) ([]byte, cache.ObjectInfo, error) {
	m.Gets.Add(1)
	if err := m.fault(ctx); err != nil {
		return nil, cache.ObjectInfo{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[m.prefix+key]
	switch {
	case !ok:
		return nil, cache.ObjectInfo{}, fmt.Errorf("%w: %s", cache.ErrNoObject, key)
	case int64(len(o.body)) > limit:
		return nil, cache.ObjectInfo{}, fmt.Errorf("%w: %s", cache.ErrObjectTooLarge, key)
	}
	return append([]byte(nil), o.body...), o.info(key), nil
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
	if m.DenyWrites.Load() {
		return fmt.Errorf("%w: %s: writes denied", cache.ErrStoreRefused, key)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objects[m.prefix+key]; ok && ifAbsent {
		return fmt.Errorf("%w: %s", cache.ErrObjectExists, key)
	}
	m.objects[m.prefix+key] = newObject(body)
	return nil
}

// List implements cache.Store.
func (m *Mem) List(ctx context.Context, prefix string, fn func(cache.ObjectInfo) error) error {
	if err := m.fault(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	var objects []cache.ObjectInfo
	for k, o := range m.objects {
		if strings.HasPrefix(k, m.prefix+prefix) {
			objects = append(objects, o.info(k[len(m.prefix):]))
		}
	}
	m.mu.Unlock()
	sort.Slice(objects, func(i, j int) bool { return objects[i].Key < objects[j].Key })
	for _, o := range objects {
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

// Touch implements cache.Store.
func (m *Mem) Touch(ctx context.Context, key string, body []byte, etag string) error {
	if err := m.fault(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[m.prefix+key]
	if !ok || strconv.Itoa(o.version) != etag {
		return fmt.Errorf("%w: %s", cache.ErrNoObject, key)
	}
	m.objects[m.prefix+key] = newObject(body)
	m.Touches.Add(1)
	return nil
}

// Delete implements cache.Store.
func (m *Mem) Delete(ctx context.Context, keys ...string) error {
	if err := m.fault(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, key := range keys {
		delete(m.objects, m.prefix+key)
	}
	return nil
}
