package cache

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// lockName is the lock file at the top of a cache directory. A server holds
// an exclusive lock on it for as long as it runs: two servers on one
// directory would each keep a budget of their own, and together hold twice
// as much. The file holds the holder's pid, for the second server's message.
// Readers (`imgproxy cache stats`) never take it.
const lockName = "lock"

// ErrLocked is the kind of error OpenDisk returns when another server holds
// the cache directory.
var ErrLocked = errors.New("cache directory in use")

// errClosed: the tier was closed, and its lock released.
var errClosed = errors.New("disk cache closed")

type lockedError struct {
	dir string
	pid int // 0 when the lock file names none
}

func (e *lockedError) Error() string {
	return fmt.Sprintf("cache directory %s is in use by another server (%s); run one server per cache directory", e.dir, e.holder())
}

func (e *lockedError) Is(target error) bool { return target == ErrLocked }

func (e *lockedError) holder() string {
	if e.pid <= 0 {
		return "pid unknown"
	}
	return "pid " + strconv.Itoa(e.pid)
}

// lockDir takes the exclusive lock on dir's lock file, creating it, and
// writes this process's pid into it. In a read-only directory an existing
// lock file is still locked (a lock needs no write access), so a second
// server is refused there too.
func lockDir(dir string) (*os.File, error) {
	name := filepath.Join(dir, lockName)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	writable := err == nil
	if err != nil {
		var rerr error
		if f, rerr = os.Open(name); rerr != nil {
			return nil, err // why it could not be created, not that it does not exist
		}
	}
	if err := flock(f); err != nil {
		pid := readPID(f)
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, &lockedError{dir: dir, pid: pid}
		}
		return nil, fmt.Errorf("locking %s: %w", name, err)
	}
	if writable {
		// Best effort: the pid only makes another server's message clearer.
		if f.Truncate(0) == nil {
			f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		}
	}
	return f, nil
}

// readPID reads the pid the holder wrote, or 0.
func readPID(f *os.File) int {
	b, _ := io.ReadAll(io.NewSectionReader(f, 0, 32))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// sameFile reports whether the open lock file is still the one at name: a
// directory removed and made again under a running server has a new lock
// file, which nobody holds.
func sameFile(f *os.File, name string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(name)
	return err == nil && os.SameFile(a, b)
}
