//go:build unix

package cache

import (
	"os"
	"syscall"
)

// fileID tells whether a file is still the one that was checked.
type fileID struct {
	dev, ino      uint64
	size, mtimeNs int64
}

func identity(fi os.FileInfo) fileID {
	id := fileID{size: fi.Size(), mtimeNs: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = uint64(st.Dev), st.Ino
	}
	return id
}
