package origin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Dir serves originals from a local directory. Every key is resolved through
// an os.Root, so no key leaves the directory, not even through a symlink.
type Dir struct {
	root     *os.Root
	maxBytes int64
}

var _ Origin = (*Dir)(nil)

// NewDir opens dir as an origin whose originals are at most maxBytes long.
func NewDir(dir string, maxBytes int64) (*Dir, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("origin dir: max bytes must be positive, got %d", maxBytes)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("origin dir: %w", err)
	}
	return &Dir{root: root, maxBytes: maxBytes}, nil
}

// Close releases the directory.
func (d *Dir) Close() error { return d.root.Close() }

// Fetch reads the file at key. Its ETag is derived from the file's size and
// modification time, like a web server's; LastModified is the modification
// time.
func (d *Dir) Fetch(ctx context.Context, key string) (*Object, error) {
	if ctx.Err() != nil {
		return nil, ctxError(ctx, key)
	}
	if !validKey(key) {
		return nil, errInvalidKey(key)
	}
	// O_NONBLOCK: opening a FIFO someone left in the directory must not
	// hang; the file is refused below as not regular. Regular files ignore it.
	f, err := d.root.OpenFile(filepath.FromSlash(key), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, dirError(key, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, dirError(key, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %q is not a regular file", ErrNotFound, key)
	}
	if info.Size() > d.maxBytes {
		return nil, fmt.Errorf("%w: %q is %d bytes, the limit is %d", ErrTooLarge, key, info.Size(), d.maxBytes)
	}
	// The limit holds while reading too: the file may have grown since Stat.
	body, err := readBody(f, info.Size(), d.maxBytes)
	if errors.Is(err, errBodyTooLarge) {
		return nil, fmt.Errorf("%w: %q: %w", ErrTooLarge, key, err)
	}
	if err != nil {
		return nil, dirError(key, err)
	}
	if ctx.Err() != nil {
		return nil, ctxError(ctx, key)
	}
	mtime := info.ModTime()
	return &Object{
		Body:         body,
		ETag:         fmt.Sprintf(`"%x-%x"`, info.Size(), mtime.UnixNano()),
		LastModified: mtime,
	}, nil
}

// dirError classifies an error from opening or reading a file. A missing
// file, a path through a non-directory, a symlink loop, an over-long name or
// a path that os.Root refuses because it escapes the directory are all
// ErrNotFound: to a client they are the same. Permission and I/O errors are
// ErrFailed: the operator has to fix them.
func dirError(key string, err error) error {
	var errno syscall.Errno
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %q", ErrNotFound, key)
	case errors.As(err, &errno):
		switch errno {
		case syscall.ENOTDIR, syscall.ELOOP, syscall.ENAMETOOLONG, syscall.EISDIR:
			return fmt.Errorf("%w: %q: %w", ErrNotFound, key, err)
		}
		return fmt.Errorf("%w: reading %q: %w", ErrFailed, key, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w: reading %q: %w", ErrFailed, key, err)
	}
	// What remains carries no errno: os.Root's "path escapes from parent"
	// (the only such error it returns) and invalid names.
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return fmt.Errorf("%w: %q: %w", ErrNotFound, key, err)
	}
	return fmt.Errorf("%w: reading %q: %w", ErrFailed, key, err)
}
