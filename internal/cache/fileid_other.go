//go:build !unix

package cache

import "os"

// fileID tells whether a file is still the one that was checked; without
// inode numbers, by size and modification time only.
type fileID struct{ size, mtimeNs int64 }

func identity(fi os.FileInfo) fileID {
	return fileID{size: fi.Size(), mtimeNs: fi.ModTime().UnixNano()}
}
