package server

import (
	"errors"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/lru"
	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/transform"
)

// badOriginals remembers, for a short while, the originals that were
// refused for what they are (damaged, too large, not an image), so that a
// flood of variants of one bad file (a srcset, or an attacker minting
// nothing new but asking for every width the site has) costs one fetch and
// one check or decode, not one per variant. It is per original: the
// verdict does not depend on the parameters.
type badOriginals struct {
	c *lru.Cache[string, error]
}

// badOriginalsBudget bounds the memory: each entry is charged its key and
// a fixed overhead, so about 64,000 originals of ordinary key length.
const badOriginalsBudget = 8 << 20

func newBadOriginals(ttl time.Duration) *badOriginals {
	if ttl <= 0 {
		return nil
	}
	return &badOriginals{c: lru.New[string, error](badOriginalsBudget, 0, ttl)}
}

// check returns the remembered refusal of objectKey, or nil.
func (b *badOriginals) check(objectKey string) error {
	if b == nil {
		return nil
	}
	err, _ := b.c.Get(objectKey)
	return err
}

// note remembers err for objectKey when it is a verdict on the original
// itself, not on the request or the moment.
func (b *badOriginals) note(objectKey string, err error) {
	if b == nil || !isVerdict(err) {
		return
	}
	b.c.Add(objectKey, err, int64(len(objectKey))+64)
}

// forget drops objectKey's verdict (purge: the original was replaced).
func (b *badOriginals) forget(objectKey string) {
	if b != nil {
		b.c.Remove(objectKey)
	}
}

func isVerdict(err error) bool {
	return errors.Is(err, transform.ErrCorrupt) || errors.Is(err, transform.ErrSourceTooLarge) ||
		errors.Is(err, transform.ErrUnsupported) || errors.Is(err, origin.ErrTooLarge)
}
