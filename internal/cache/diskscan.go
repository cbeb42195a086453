package cache

import (
	"cmp"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/peterbourgon/diskv/v3"
)

// rebuild indexes the entry files already on disk, newest first, so that
// a restarted server serves yesterday's variants and keeps its budget.
// Without access times, the order is by when each entry was written.
func (d *Disk) rebuild() {
	defer close(d.scanned)
	start := time.Now()
	type found struct { // 64 bytes: a million files cost 64 MB while this runs
		id    entryID
		size  int64
		mtime int64
	}
	var files []found
	err := filepath.WalkDir(d.entries, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return nil // a directory that vanished or cannot be read: skip it
		}
		if de.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(d.entries, path)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) != 3 {
			return nil
		}
		id, ok := parseEntryID(fromPath(&diskv.PathKey{Path: parts[:2], FileName: parts[2]}))
		if !ok {
			return nil
		}
		info, err := de.Info()
		if err != nil {
			return nil
		}
		files = append(files, found{id, info.Size(), info.ModTime().UnixNano()})
		return nil
	})
	if err != nil {
		d.log.Error("disk cache: index rebuild", "err", err)
	}
	slices.SortFunc(files, func(a, b found) int { return cmp.Compare(b.mtime, a.mtime) })
	for _, f := range files {
		d.eraseAll(d.index.addID(f.id, f.size))
	}
	n, used, _ := d.index.stats()
	d.log.Info("disk cache: index rebuilt", "entries", n, "bytes", used, "took", time.Since(start).Round(time.Millisecond))
}
