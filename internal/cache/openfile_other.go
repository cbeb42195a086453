//go:build !linux

package cache

import "os"

// openFile opens an entry file for reading (see openfile_linux.go).
func openFile(name string) (*os.File, error) { return os.Open(name) }
