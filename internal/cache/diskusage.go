package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/peterbourgon/diskv/v3"
)

// Usage describes a cache directory, for `imgproxy cache stats`.
type Usage struct {
	Entries, Originals int
	Bytes              int64
	Oldest, Newest     time.Time // entry file times
	TempFiles          int
	Foreign            int // files that are not entries
	Corrupt            int // with verify only
}

// ErrNotCache is Scan's error for a directory that is not a cache
// directory: one without the entries directory a server makes in it.
var ErrNotCache = errors.New("not a cache directory")

// Scan reads a cache directory without changing it, and without its lock:
// it works while a server runs on it. With verify, every entry is read and
// checked.
func Scan(dir string, verify bool) (Usage, error) {
	var u Usage
	if _, err := os.Stat(dir); err != nil {
		return u, err
	}
	entries := filepath.Join(dir, "entries")
	if st, err := os.Stat(entries); err != nil || !st.IsDir() {
		return u, fmt.Errorf("%w: %s has no entries directory (a server makes one when it starts on it)", ErrNotCache, dir)
	}
	if ents, err := os.ReadDir(filepath.Join(dir, "tmp")); err == nil {
		u.TempFiles = len(ents)
	}
	originals := map[string]bool{}
	err := filepath.WalkDir(entries, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(entries, path)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) != 3 || fromPath(&diskv.PathKey{Path: parts[:2], FileName: parts[2]}) == "" {
			u.Foreign++
			return nil
		}
		info, err := de.Info()
		if err != nil {
			return nil // removed while we looked
		}
		u.Entries++
		u.Bytes += info.Size()
		originals[parts[1]] = true
		if t := info.ModTime(); u.Oldest.IsZero() || t.Before(u.Oldest) {
			u.Oldest = t
		}
		if t := info.ModTime(); t.After(u.Newest) {
			u.Newest = t
		}
		if verify {
			if b, err := os.ReadFile(path); err != nil {
				u.Corrupt++
			} else if _, err := decodeEntry(b); err != nil {
				u.Corrupt++
			}
		}
		return nil
	})
	u.Originals = len(originals)
	return u, err
}
