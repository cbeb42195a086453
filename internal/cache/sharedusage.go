package cache

import (
	"context"
	"strings"
	"time"
)

// SharedUsage is what a walk over the shared tier's objects found.
type SharedUsage struct {
	Entries, EntryBytes int64
	// Oldest and Newest are the entries' modification times: their last
	// write or touch (cache.shared.touch_after), by the store's clock.
	Oldest, Newest time.Time
	Notices        int64 // purge notices
	// Other counts objects that are neither entries nor notices: the start
	// check's probe, or another program's. They are never removed.
	Other, OtherBytes     int64
	Removed, RemovedBytes int64 // entries removed (or, on a dry run, that would be)
}

// ScanShared walks every object of the store, a listing page at a time.
// With olderThan > 0 it removes the entries not written or touched for that
// long (unless dryRun: then it only counts them), in batches as it goes,
// so that it needs no memory for the whole listing. It is safe while
// instances serve: an entry removed under a reader is a miss, made or
// fetched again, and a touch never brings one back.
func ScanShared(ctx context.Context, store Store, olderThan time.Duration, dryRun bool) (SharedUsage, error) {
	var u SharedUsage
	cutoff := time.Now().Add(-olderThan)
	var batch []string
	flush := func() error {
		if len(batch) == 0 || dryRun {
			batch = batch[:0]
			return nil
		}
		err := store.Delete(ctx, batch...)
		batch = batch[:0]
		return err
	}
	err := store.List(ctx, "", func(o ObjectInfo) error {
		switch {
		case isEntryObject(o.Key):
			if olderThan > 0 && o.Modified.Before(cutoff) {
				u.Removed++
				u.RemovedBytes += o.Size
				if batch = append(batch, o.Key); len(batch) == deleteBatch {
					return flush()
				}
				return nil
			}
			u.Entries++
			u.EntryBytes += o.Size
			if u.Oldest.IsZero() || o.Modified.Before(u.Oldest) {
				u.Oldest = o.Modified
			}
			if o.Modified.After(u.Newest) {
				u.Newest = o.Modified
			}
		case strings.HasPrefix(o.Key, purgeNoticePrefix) && !noticeTime(o.Key).IsZero():
			u.Notices++
		default:
			u.Other++
			u.OtherBytes += o.Size
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return u, err
}

// isEntryObject reports whether key has the layout of sharedKey:
// entries/<ab>/<original's hash>/<variant's key>.
func isEntryObject(key string) bool {
	rest, ok := strings.CutPrefix(key, "entries/")
	if !ok {
		return false
	}
	parts := strings.Split(rest, "/")
	return len(parts) == 3 && entryName(parts[0], parts[1], parts[2]) != ""
}
