package origin

import (
	"errors"
	"fmt"
	"io"
)

// initialBuffer is the buffer size readBody starts with when the size is
// unknown; it grows by doubling from there.
const initialBuffer = 64 << 10

// errBodyTooLarge is returned by readBody when the body exceeds max; callers
// wrap it with ErrTooLarge and the key.
var errBodyTooLarge = errors.New("body exceeds the byte limit")

// readBody reads r to its end, but never more than max+1 bytes: a body
// longer than max is errBodyTooLarge and no partial body is returned. hint
// is the expected size (negative when unknown); the buffer is sized from it,
// capped by max, so that a correct hint reads without regrowth and a lying
// one costs at most max+1 bytes.
func readBody(r io.Reader, hint, max int64) ([]byte, error) {
	size := hint
	if size < 0 {
		size = min(initialBuffer, max)
	}
	size = min(size, max) + 1 // room for the byte that proves EOF or overflow
	buf := make([]byte, 0, size)
	lr := io.LimitReader(r, max+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > max {
			return nil, fmt.Errorf("%w (%d bytes)", errBodyTooLarge, max)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
