package sign

import (
	"context"
	"io"

	"github.com/imgproxy-team/imgproxy/internal/origin"
)

// rangeBlock is the size of the ranged reads past the first prefix.
const rangeBlock = 16 << 10

// rangeReader is an io.ReaderAt over one version of an original: the
// prefix a Peek read, then blocks read by range as the header reader asks
// for them. imagefmt.ReadHeader bounds what it asks for in all.
type rangeReader struct {
	ctx    context.Context
	src    origin.Peeker
	key    string
	peek   *origin.Peek
	blocks map[int64][]byte
	err    error // the origin's error, kept apart from damage
}

func (r *rangeReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		at := off + int64(n)
		if at < int64(len(r.peek.Head)) {
			n += copy(p[n:], r.peek.Head[at:])
			continue
		}
		start := at - at%rangeBlock
		b, ok := r.blocks[start]
		if !ok {
			var err error
			b, err = r.src.ReadRange(r.ctx, r.key, start, rangeBlock, r.peek.Tag)
			if err != nil {
				r.err = err
				return n, err
			}
			if r.blocks == nil {
				r.blocks = make(map[int64][]byte)
			}
			r.blocks[start] = b
		}
		if at-start >= int64(len(b)) {
			return n, io.EOF // the original ended before the header did
		}
		n += copy(p[n:], b[at-start:])
	}
	return n, nil
}
