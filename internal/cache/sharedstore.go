package cache

import (
	"context"
	"errors"
	"time"
)

// Store is where the shared tier keeps its objects: an S3 bucket in
// production (S3Store), any store that passes sharedtest.Run in tests.
// Keys are relative to the tier's prefix; bodies are whole objects.
// Modification times are the store's own clock.
type Store interface {
	// Get returns the object's bytes and what a listing says of it (when
	// it was last written or touched, its version): ErrNoObject when there
	// is none, ErrObjectTooLarge when it is over limit bytes (never read
	// whole).
	Get(ctx context.Context, key string, limit int64) ([]byte, ObjectInfo, error)
	// Put stores the object. With ifAbsent it stores it only when no
	// object has the key, ErrObjectExists otherwise, where the store can
	// tell; a store that cannot overwrites.
	Put(ctx context.Context, key string, body []byte, ifAbsent bool) error
	// List calls fn with every object whose key starts with prefix, in key
	// order and in pages, until fn returns an error (which List returns).
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error
	// Touch makes the modification time of the object Get returned now,
	// writing body (its bytes) again if it is still that version (etag);
	// ErrNoObject if it is not there: a touch never brings back an object
	// that a purge removed.
	Touch(ctx context.Context, key string, body []byte, etag string) error
	// Delete removes the objects, in batches where the store has them;
	// missing ones are not an error.
	Delete(ctx context.Context, keys ...string) error
}

// ObjectInfo is what a listing says of one object.
type ObjectInfo struct {
	Key      string
	Size     int64
	Modified time.Time
	ETag     string // the version, as the store names it
}

// The kinds of store errors the shared tier tells apart. Any other error
// means the store is failing (unreachable, slow, refusing).
var (
	ErrNoObject       = errors.New("no such object")
	ErrObjectExists   = errors.New("object already exists")
	ErrObjectTooLarge = errors.New("object too large")
	// ErrStoreRefused is a store that answers but will not serve us: no
	// such bucket, or credentials refused. A configuration mistake, which
	// serve reports at start rather than running without the tier.
	ErrStoreRefused = errors.New("shared store refused")
)
