package origin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Dir serves originals from a local directory. Every key is resolved through
// an os.Root, so no key leaves the directory, not even through a symlink.
// A symlink is followed when its target is relative and stays inside; an
// absolute one is refused even when it points inside the directory: os.Root
// resolves names relative to the directory only, and the directory's own
// absolute path may differ from the one in the link (a bind mount, a
// container). The log says to make it relative (ln -sr).
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
		return nil, d.explain(key, dirError(key, err))
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

// explain adds to a refusal of key the reason an operator needs: which
// symlink on the way is absolute. Only refusals pay for the extra lookups.
func (d *Dir) explain(key string, err error) error {
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	var pathErr *fs.PathError
	if !errors.As(err, &pathErr) || errors.Is(err, fs.ErrNotExist) {
		return err
	}
	segs := strings.Split(key, "/")
	for i := range segs {
		name := strings.Join(segs[:i+1], "/")
		target, lerr := d.root.Readlink(filepath.FromSlash(name))
		if lerr == nil && filepath.IsAbs(target) {
			return fmt.Errorf("%w (%q is a symlink to the absolute path %q: only relative symlinks are followed; make it relative, e.g. ln -sr)",
				err, name, target)
		}
	}
	return err
}
