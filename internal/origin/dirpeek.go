package origin

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// open opens the regular file at key inside the directory, refusing what
// Fetch refuses, and returns it with its metadata.
func (d *Dir) open(ctx context.Context, key string) (*os.File, fs.FileInfo, error) {
	if ctx.Err() != nil {
		return nil, nil, ctxError(ctx, key)
	}
	if !validKey(key) {
		return nil, nil, errInvalidKey(key)
	}
	// O_NONBLOCK: see Fetch.
	f, err := d.root.OpenFile(filepath.FromSlash(key), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, d.explain(key, dirError(key, err))
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, dirError(key, err)
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%w: %q is not a regular file", ErrNotFound, key)
	}
	if info.Size() > d.maxBytes {
		f.Close()
		return nil, nil, fmt.Errorf("%w: %q is %d bytes, the limit is %d", ErrTooLarge, key, info.Size(), d.maxBytes)
	}
	return f, info, nil
}

// dirTag is a file's version as Fetch's ETag names it.
func dirTag(info fs.FileInfo) string {
	return fmt.Sprintf(`"%x-%x"`, info.Size(), info.ModTime().UnixNano())
}

// Peek reads the first n bytes of the file and hashes all of it. Hashing
// the whole file is what makes the address depend on the content only (a
// copy, a checkout or a touch keeps it), and reading a local file is cheap
// next to the decode a site build does anyway; it is bounded by the
// origin's byte limit like Fetch.
func (d *Dir) Peek(ctx context.Context, key string, n int64) (*Peek, error) {
	if err := checkPeek(key, 0, n); err != nil {
		return nil, err
	}
	f, info, err := d.open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := info.Size()
	head := make([]byte, min(n, size))
	if _, err := f.ReadAt(head, 0); err != nil && !(errors.Is(err, io.EOF) && len(head) == 0) {
		return nil, d.changed(key, err)
	}
	h := md5.New()
	hashed, err := io.Copy(h, &ctxReader{ctx: ctx, r: io.NewSectionReader(f, 0, size+1)})
	switch {
	case ctx.Err() != nil:
		return nil, ctxError(ctx, key)
	case err != nil:
		return nil, dirError(key, err)
	case hashed != size:
		return nil, d.changed(key, nil)
	}
	return &Peek{Head: head, Size: size, Content: hex.EncodeToString(h.Sum(nil)), Tag: dirTag(info)}, nil
}

// ReadRange reads n bytes from off, if the file is still the version tag
// names.
func (d *Dir) ReadRange(ctx context.Context, key string, off, n int64, tag string) ([]byte, error) {
	if err := checkPeek(key, off, n); err != nil {
		return nil, err
	}
	f, info, err := d.open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if dirTag(info) != tag {
		return nil, d.changed(key, nil)
	}
	if off >= info.Size() {
		return nil, nil
	}
	b := make([]byte, min(n, info.Size()-off))
	if _, err := f.ReadAt(b, off); err != nil {
		return nil, d.changed(key, err)
	}
	if ctx.Err() != nil {
		return nil, ctxError(ctx, key)
	}
	return b, nil
}

// changed is the error for a file that is not what its metadata said a
// moment ago: shorter than its size, or another version.
func (d *Dir) changed(key string, err error) error {
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return dirError(key, err)
	}
	return fmt.Errorf("%w: %q", ErrChanged, key)
}

// ctxReader stops a long read when ctx is done: hashing a large file
// should not outlive a cancelled sign.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
