package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
)

// dirListScan bounds the directory entries List looks at, so that the
// startup check costs the same in a directory of millions of files.
const dirListScan = 10_000

var errListDone = errors.New("listed enough")

// List walks the directory depth-first for up to n regular files, looking
// at no more than dirListScan entries. Symlinks are not followed (a link
// to a directory could loop), so only files that are really there count.
func (d *Dir) List(ctx context.Context, n int) ([]string, error) {
	var keys []string
	scanned := 0
	var walk func(dir string) error
	walk = func(dir string) error {
		f, err := d.root.Open(dir)
		if err != nil {
			return err
		}
		defer f.Close()
		for {
			entries, err := f.ReadDir(64)
			for _, e := range entries {
				if scanned++; scanned > dirListScan || len(keys) >= n || ctx.Err() != nil {
					return errListDone
				}
				key := path.Join(dir, e.Name())
				switch {
				case e.Type().IsRegular() && validKey(key):
					keys = append(keys, key)
				case e.IsDir():
					if err := walk(key); err != nil {
						return err
					}
				}
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	if err := walk("."); err != nil && !errors.Is(err, errListDone) {
		return nil, fmt.Errorf("%w: listing the directory: %w", ErrFailed, err)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("listing the directory: %w", ctx.Err())
	}
	return keys, nil
}
