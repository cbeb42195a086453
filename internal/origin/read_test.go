package origin

import (
	"bytes"
	"errors"
	"testing"
	"testing/iotest"
)

func TestReadBody(t *testing.T) {
	const max = 100
	for _, tc := range []struct {
		name    string
		size    int
		hint    int64
		tooBig  bool
		wantCap int // 0: not checked
	}{
		{name: "empty", size: 0, hint: 0},
		{name: "hint right", size: 50, hint: 50, wantCap: 51},
		{name: "exactly max", size: max, hint: max, wantCap: max + 1},
		{name: "unknown size", size: 80, hint: -1},
		{name: "hint too small (file grew)", size: 90, hint: 10},
		{name: "hint too large (file shrank)", size: 10, hint: 90},
		{name: "over max, hint right", size: max + 1, hint: max + 1, tooBig: true},
		{name: "over max, hint lies", size: 5 * max, hint: 10, tooBig: true},
		{name: "over max, unknown size", size: 5 * max, hint: -1, tooBig: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := bytes.Repeat([]byte{'x'}, tc.size)
			// One byte per Read, to exercise the loop.
			got, err := readBody(iotest.OneByteReader(bytes.NewReader(src)), tc.hint, max)
			if tc.tooBig {
				if !errors.Is(err, errBodyTooLarge) || got != nil {
					t.Fatalf("got %d bytes, %v; want errBodyTooLarge and nothing", len(got), err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, src) {
				t.Fatalf("got %d bytes, %v; want the %d bytes", len(got), err, tc.size)
			}
			if got == nil {
				t.Error("got a nil body, want an empty one")
			}
			if tc.wantCap != 0 && cap(got) != tc.wantCap {
				t.Errorf("capacity %d, want %d (no regrowth)", cap(got), tc.wantCap)
			}
		})
	}
}

func TestReadBodyError(t *testing.T) {
	boom := errors.New("boom")
	if _, err := readBody(iotest.ErrReader(boom), -1, 100); !errors.Is(err, boom) {
		t.Errorf("got %v, want %v", err, boom)
	}
}
