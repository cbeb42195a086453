package cache

import (
	"os"
	"syscall"
)

// openFile opens an entry file for reading. os.Open tries to add every
// file to the network poller, which on Linux costs a regular file two
// fcntl calls to set non-blocking mode, an epoll_ctl that fails and two
// more fcntl calls to undo it: four syscalls of the ten or so a disk hit
// makes. A descriptor wrapped by os.NewFile skips that (one fcntl), and is
// read and sent with sendfile(2) just the same.
func openFile(name string) (*os.File, error) {
	for {
		fd, err := syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
		return os.NewFile(uintptr(fd), name), nil
	}
}
