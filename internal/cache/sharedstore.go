package cache

import (
	"context"
	"errors"
)

// Store is where the shared tier keeps its objects: an S3 bucket in
// production (S3Store), any store that passes sharedtest.Run in tests.
// Keys are relative to the tier's prefix; bodies are whole objects.
type Store interface {
	// Get returns the object's bytes: ErrNoObject when there is none,
	// ErrObjectTooLarge when it is over limit bytes (never read whole).
	Get(ctx context.Context, key string, limit int64) ([]byte, error)
	// Put stores the object. With ifAbsent it stores it only when no
	// object has the key, ErrObjectExists otherwise, where the store can
	// tell; a store that cannot overwrites.
	Put(ctx context.Context, key string, body []byte, ifAbsent bool) error
	// List calls fn with every key that starts with prefix, in pages, until
	// fn returns an error (which List returns).
	List(ctx context.Context, prefix string, fn func(key string) error) error
	// Delete removes the object; a missing one is not an error.
	Delete(ctx context.Context, key string) error
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
