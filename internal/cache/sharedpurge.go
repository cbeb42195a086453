package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Purge notices carry a purge to every instance that shares the store: the
// instance that purges writes purges/<unix ns>-<instance>, holding the
// original's key, and every instance lists that prefix now and then and
// purges its own memory and disk tiers of the originals named since it last
// looked. The store's listing is in key order, and the keys start with the
// time, so "since" is a key comparison: no clock has to agree with another
// beyond the notice's own age.
//
// An instance follows notices from its start; one that was stopped while a
// purge happened keeps its disk copies of that original (purge it again, or
// start it with an empty disk).

const (
	purgeNoticePrefix = "purges/"
	// purgeNoticeAge is how long a notice stays: far longer than any
	// instance's polling interval. Whoever lists an older one deletes it.
	purgeNoticeAge = 24 * time.Hour
	// maxPurgeNotice bounds a notice's body: an object key is at most 1024
	// bytes in the URL contract.
	maxPurgeNotice = 4 << 10
	// defaultPurgeInterval is cache.shared.purge_interval's default.
	defaultPurgeInterval = 5 * time.Second
)

// instanceID names this process in the notices it writes, so that it does
// not apply its own.
func instanceID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func noticeKey(t time.Time, instance string) string {
	return fmt.Sprintf("%s%020d-%s", purgeNoticePrefix, t.UnixNano(), instance)
}

// notifyPurge writes the notice of a purge of objectKey.
func (s *Shared) notifyPurge(ctx context.Context, objectKey string) error {
	if err := s.store.Put(ctx, noticeKey(time.Now(), s.instance), []byte(objectKey), false); err != nil {
		s.purgeErrs.Add(1)
		return fmt.Errorf("shared cache: telling the other instances of the purge of %q: %w", objectKey, err)
	}
	return nil
}

// FollowPurges lists the notices every interval until ctx is done, and
// calls apply with the original of each one another instance wrote since
// the last look (since the call, at first). A failing store is retried at
// the next interval; the tier's own failure accounting shows it.
func (s *Shared) FollowPurges(ctx context.Context, every time.Duration, apply func(objectKey string)) {
	if every <= 0 {
		every = defaultPurgeInterval
	}
	after := noticeKey(time.Now(), "")
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			after = s.applyNotices(ctx, after, apply)
		}
	}
}

// applyNotices applies the notices after the key after, deletes those past
// purgeNoticeAge, and returns the last key applied.
func (s *Shared) applyNotices(ctx context.Context, after string, apply func(string)) string {
	lctx, cancel := context.WithTimeout(ctx, s.writeTimeout)
	defer cancel()
	var fresh, stale []string
	err := s.store.List(lctx, purgeNoticePrefix, func(key string) error {
		switch {
		case key > after:
			fresh = append(fresh, key)
		case noticeTime(key).Before(time.Now().Add(-purgeNoticeAge)):
			stale = append(stale, key)
		}
		return nil
	})
	if err != nil {
		s.fail("listing purge notices", err)
		return after
	}
	for _, key := range fresh {
		if strings.HasSuffix(key, "-"+s.instance) {
			after = key // our own: the purge was done here
			continue
		}
		body, err := s.store.Get(lctx, key, maxPurgeNotice)
		if err != nil {
			s.fail("reading a purge notice", err)
			return after // read it again next time
		}
		apply(string(body))
		s.purged.Add(string(body), time.Now(), 1) // queued writes of it are stale too
		after = key
	}
	for _, key := range stale {
		s.store.Delete(lctx, key)
	}
	return after
}

// noticeTime is the time a notice's key starts with (zero if it has none).
func noticeTime(key string) time.Time {
	ns, _, _ := strings.Cut(strings.TrimPrefix(key, purgeNoticePrefix), "-")
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, n)
}
