package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Purge notices carry a purge to every instance that shares the store: the
// instance that purges writes purges/<unix ns>-<instance>, holding the
// original's key, and every instance lists that prefix now and then and
// purges its own memory and disk tiers of the originals named in notices
// it has not applied yet.
//
// Clocks: a notice's key starts with its writer's clock, and the store
// lists in key order. A follower remembers the notices it applied whose
// time is within PurgeClockSkew of the newest one, and applies any other
// notice after that window: so instances whose clocks differ by less
// than PurgeClockSkew never miss one another's purges, and none is
// applied twice.
//
// Restarts: with a disk tier, the follower keeps what it applied in a file
// beside the entries, and an instance applies the notices written while it
// was stopped before it serves (CatchUp). One stopped for longer than
// notices are kept (PurgeNoticeAge) cannot know what it missed: its disk
// tier is emptied instead.

const (
	purgeNoticePrefix = "purges/"
	// PurgeNoticeAge is how long a notice stays: far longer than any
	// polling interval or restart. Whoever lists an older one deletes it.
	PurgeNoticeAge = 7 * 24 * time.Hour
	// PurgeClockSkew is how far instances' clocks may differ without a
	// purge being missed.
	PurgeClockSkew = 10 * time.Minute
	// maxPurgeNotice bounds a notice's body: an object key is at most 1024
	// bytes in the URL contract.
	maxPurgeNotice = 4 << 10
	// defaultPurgeInterval is cache.shared.purge_interval's default.
	defaultPurgeInterval = 15 * time.Second
	// PurgeRecordFile is the follower's record in a disk tier's directory.
	PurgeRecordFile = "purges-applied"
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

// PurgeFollower applies the purge notices of other instances to this one.
type PurgeFollower struct {
	s      *Shared
	apply  func(objectKey string)
	record string // the record file; "" without a disk tier

	newest  string              // the newest notice applied
	applied map[string]struct{} // notices applied within PurgeClockSkew of newest
	checked time.Time           // the last complete look, by this clock
	known   bool                // a record was read: before it, nothing is known
}

// NewPurgeFollower returns a follower that calls apply with the original
// of each notice another instance writes. With a record file (a path in
// the disk tier's directory), what it applied survives a restart; without
// one (no disk tier, so nothing survives a restart to be purged), it
// starts from now.
func (s *Shared) NewPurgeFollower(record string, apply func(objectKey string)) (*PurgeFollower, error) {
	f := &PurgeFollower{s: s, apply: apply, record: record, applied: map[string]struct{}{}}
	if record == "" {
		f.newest, f.known, f.checked = noticeKey(time.Now(), ""), true, time.Now()
		return f, nil
	}
	b, err := os.ReadFile(record)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return f, nil // a new or older cache directory: every notice applies
	case err != nil:
		return nil, fmt.Errorf("shared cache: reading the purge record: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	ns, err := strconv.ParseInt(strings.TrimPrefix(lines[0], "checked "), 10, 64)
	if err != nil || !strings.HasPrefix(lines[0], "checked ") {
		s.log.Warn("shared cache: purge record unreadable; applying every purge notice", "file", record)
		return f, nil
	}
	f.checked, f.known = time.Unix(0, ns), true
	for _, key := range lines[1:] {
		if strings.HasPrefix(key, purgeNoticePrefix) {
			f.applied[key] = struct{}{}
			f.newest = max(f.newest, key)
		}
	}
	return f, nil
}

// CatchUp applies the notices written while this instance was stopped. It
// reports stale when the instance was stopped for longer than notices are
// kept: the caller must empty its disk tier, which may hold variants of
// originals purged meanwhile. An error means the store did not answer;
// Follow applies them when it does.
func (f *PurgeFollower) CatchUp(ctx context.Context) (stale bool, err error) {
	stale = f.known && time.Since(f.checked) > PurgeNoticeAge-PurgeClockSkew
	if err := f.poll(ctx); err != nil {
		return stale, err
	}
	return stale, nil
}

// Follow polls the notices every interval until ctx is done. A failing
// store is retried at the next interval; the tier's own failure
// accounting shows it.
func (f *PurgeFollower) Follow(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = defaultPurgeInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.poll(ctx)
		}
	}
}

// FollowPurges is a follower without a record, from now: for an instance
// without a disk tier.
func (s *Shared) FollowPurges(ctx context.Context, every time.Duration, apply func(objectKey string)) {
	f, _ := s.NewPurgeFollower("", apply)
	f.Follow(ctx, every)
}

// poll lists the notices, applies the new ones, deletes those past
// PurgeNoticeAge and those that are not notices, and writes the record.
func (f *PurgeFollower) poll(ctx context.Context) error {
	s := f.s
	lctx, cancel := context.WithTimeout(ctx, s.writeTimeout)
	defer cancel()
	start := time.Now()
	floor := ""
	if f.newest != "" {
		floor = noticeKey(noticeTime(f.newest).Add(-PurgeClockSkew), "")
	}
	var fresh, old []string
	err := s.store.List(lctx, purgeNoticePrefix, func(o ObjectInfo) error {
		_, done := f.applied[o.Key]
		switch {
		case noticeTime(o.Key).IsZero():
			s.log.Warn("shared cache: removing a malformed purge notice", "object", o.Key)
			old = append(old, o.Key)
		case o.Key > floor && !done:
			fresh = append(fresh, o.Key)
		case noticeTime(o.Key).Before(start.Add(-PurgeNoticeAge)):
			old = append(old, o.Key)
		}
		return nil
	})
	if err != nil {
		s.fail("listing purge notices", err)
		return err
	}
	for _, key := range fresh {
		if !strings.HasSuffix(key, "-"+s.instance) { // our own: the purge was done here
			body, _, err := s.store.Get(lctx, key, maxPurgeNotice)
			switch {
			case errors.Is(err, ErrNoObject): // deleted as old meanwhile
			case errors.Is(err, ErrObjectTooLarge) || err == nil && len(body) == 0:
				s.log.Warn("shared cache: skipping a malformed purge notice", "object", key)
			case err != nil:
				s.fail("reading a purge notice", err)
				f.save()
				return err // the rest next time
			default:
				f.apply(string(body))
				s.purged.Add(string(body), time.Now(), 1) // queued writes of it are stale too
			}
		}
		f.done(key)
	}
	if len(old) > 0 && !s.readOnly { // a read-only instance leaves them to those that write
		s.store.Delete(lctx, old...)
	}
	f.checked, f.known = start, true
	f.save()
	return nil
}

// done records a notice as applied, and forgets those that fell out of
// the window.
func (f *PurgeFollower) done(key string) {
	f.applied[key] = struct{}{}
	if key > f.newest {
		f.newest = key
		floor := noticeKey(noticeTime(key).Add(-PurgeClockSkew), "")
		for k := range f.applied {
			if k <= floor {
				delete(f.applied, k)
			}
		}
	}
}

// save writes the record, through a temporary file so that a crash leaves
// the old one or the new one.
func (f *PurgeFollower) save() {
	if f.record == "" || !f.known {
		return
	}
	keys := make([]string, 0, len(f.applied))
	for k := range f.applied {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	body := "checked " + strconv.FormatInt(f.checked.UnixNano(), 10) + "\n" + strings.Join(keys, "\n") + "\n"
	tmp := f.record + ".tmp"
	err := os.WriteFile(tmp, []byte(body), 0o644)
	if err == nil {
		err = os.Rename(tmp, f.record)
	}
	if err != nil {
		f.s.log.Warn("shared cache: writing the purge record failed; a restart applies recent notices again", "err", err)
	}
}

// noticeTime is the time a notice's key starts with (zero if it has none).
func noticeTime(key string) time.Time {
	ns, _, ok := strings.Cut(strings.TrimPrefix(key, purgeNoticePrefix), "-")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
