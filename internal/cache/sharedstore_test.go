package cache_test

import (
	"context"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/cache/sharedtest"
	"github.com/imgproxy-team/imgproxy/internal/origin/s3test"
)

func TestMemStoreConforms(t *testing.T) {
	sharedtest.Run(t, func(t *testing.T) (cache.Store, cache.Store) {
		m := sharedtest.NewMem()
		return m.WithPrefix("results/"), m.WithPrefix("other/")
	})
}

// The S3 store on a real S3-compatible server (versitygw), which
// implements conditional writes (If-None-Match: *, 412).
func TestS3StoreConforms(t *testing.T) {
	sharedtest.Run(t, func(t *testing.T) (cache.Store, cache.Store) {
		b := s3test.Bucket(t)
		mk := func(prefix string) cache.Store {
			c := b.OriginConfig(1)
			c.Prefix = prefix
			s, err := cache.NewS3Store(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		return mk("results"), mk("/other/")
	})
}
